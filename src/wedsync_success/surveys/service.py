"""Surveys: asking (through the interventions' gate), storing responses once, and announcing
the low scores as success events in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.config import Settings
from wedsync_success.db.locks import lock_suppliers
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEventType
from wedsync_success.interventions.channels.base import Category, Channel
from wedsync_success.interventions.one_off import queue_one_off
from wedsync_success.kit.batch import RejectedItem, validate_each
from wedsync_success.kit.errors import NotFound, PayloadTooLarge, ValidationFailed
from wedsync_success.suppliers import repository as suppliers_repository
from wedsync_success.surveys import repository
from wedsync_success.surveys.kinds import QUESTIONS, SurveyKind, is_low, template_of
from wedsync_success.surveys.models import SurveyResponse, SurveySent
from wedsync_success.surveys.schemas import (
    LatestScores,
    ResponseOut,
    ResponseSource,
    ResponsesResult,
    SendOutcome,
    SendSurveyIn,
    SurveyChannel,
    SurveyResponseIn,
    SurveySentOut,
    SurveyTrigger,
    on_scale,
)

MAX_CLOCK_SKEW = timedelta(minutes=5)
"""A response may be dated this far past the server's clock (the client's clock is ahead)."""
SUBJECTS = {
    SurveyKind.NPS: "One quick question about WedSync",
    SurveyKind.CSAT: "How did we do?",
}
LOW_SCORE_WINDOW = timedelta(days=30)
"""A low score older than this when it arrives (an import of history) is history, not a
reason to act: it is stored and counted, but announces nothing (like failed payments)."""
CHANNELS = {SurveyChannel.EMAIL: Channel.EMAIL, SurveyChannel.IN_APP: Channel.IN_APP}


@dataclass(frozen=True)
class SurveyIntervals:
    """How long a supplier user is not asked the same kind of survey again."""

    nps: timedelta
    csat: timedelta

    def of(self, kind: SurveyKind) -> timedelta:
        return self.nps if kind is SurveyKind.NPS else self.csat


def intervals_of(settings: Settings) -> SurveyIntervals:
    """The intervals this deployment configures (``WEDSYNC_SURVEY_*_INTERVAL_DAYS``)."""
    return SurveyIntervals(
        nps=timedelta(days=settings.survey_nps_interval_days),
        csat=timedelta(days=settings.survey_csat_interval_days),
    )


# --- responses ----------------------------------------------------------------------------


def _reject(index: int, item: SurveyResponseIn, field: str, reason: str) -> RejectedItem:
    return RejectedItem(index=index, key=item.response_id, field=field, reason=reason)


async def _resolved(
    session: AsyncSession,
    valid: list[tuple[int, SurveyResponseIn]],
    rejected: list[RejectedItem],
    now: datetime,
) -> list[tuple[int, SurveyResponseIn]]:
    """The items whose supplier (by id or external id) and user exist and belong together,
    dated no later than ``now`` plus the clock skew; the others join ``rejected``."""
    externals = [i.supplier_external_id for _, i in valid if i.supplier_external_id is not None]
    by_external = await suppliers_repository.ids_by_external_id(session, externals)
    with_ids: list[tuple[int, SurveyResponseIn]] = []
    for index, item in valid:
        if item.responded_at > now + MAX_CLOCK_SKEW:
            rejected.append(_reject(index, item, "responded_at", "is in the future"))
        elif item.supplier_external_id is None:
            with_ids.append((index, item))
        elif item.supplier_external_id in by_external:
            sid = by_external[item.supplier_external_id]
            with_ids.append((index, item.model_copy(update={"supplier_id": sid})))
        else:
            reason = "no supplier has this external id"
            rejected.append(_reject(index, item, "supplier_external_id", reason))
    known = await suppliers_repository.existing_ids(
        session, sorted({i.supplier_id for _, i in with_ids if i.supplier_id is not None})
    )
    owners = await suppliers_repository.user_owners(
        session, sorted({i.supplier_user_id for _, i in with_ids if i.supplier_user_id})
    )
    kept: list[tuple[int, SurveyResponseIn]] = []
    for index, item in with_ids:
        if item.supplier_id not in known:
            rejected.append(_reject(index, item, "supplier_id", "no supplier has this id"))
        elif item.supplier_user_id is not None and owners.get(item.supplier_user_id) != (
            item.supplier_id
        ):
            reason = "not a user of this supplier"
            rejected.append(_reject(index, item, "supplier_user_id", reason))
        else:
            kept.append((index, item))
    return kept


async def _store(
    session: AsyncSession, rows: list[dict[str, Any]], now: datetime
) -> tuple[set[str], int]:
    """Insert the rows once each, and write a success event for each new low score (same
    transaction); the response ids inserted and how many low scores were announced."""
    inserted = await repository.insert_responses(session, rows)
    recent = now - LOW_SCORE_WINDOW
    events = [
        NewEvent(
            event_type=(
                SuccessEventType.SURVEY_DETRACTOR
                if row["kind"] == SurveyKind.NPS.value
                else SuccessEventType.SURVEY_CSAT_LOW
            ),
            supplier_id=row["supplier_id"],
            occurred_at=row["responded_at"],
            payload={
                "response_id": row["response_id"],
                "kind": row["kind"],
                "score": row["score"],
                "comment": row["comment"],
                "supplier_user_id": (
                    str(row["supplier_user_id"]) if row["supplier_user_id"] else None
                ),
                "survey_id": str(row["survey_id"]) if row["survey_id"] else None,
                "source": row["source"],
            },
        )
        for row in rows
        if row["response_id"] in inserted
        and is_low(SurveyKind(row["kind"]), row["score"])
        and row["responded_at"] >= recent
    ]
    await enqueue(session=session, events=events, now=now)
    return inserted, len(events)


def _row(
    item: SurveyResponseIn, *, source: ResponseSource, survey_id: uuid.UUID | None, now: datetime
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "response_id": item.response_id,
        "kind": item.kind.value,
        "score": item.score,
        "comment": item.comment,
        "supplier_id": item.supplier_id,
        "supplier_user_id": item.supplier_user_id,
        "survey_id": survey_id,
        "source": source.value,
        "responded_at": item.responded_at,
        "created_at": now,
    }


async def record_responses(
    *,
    session: AsyncSession,
    items: Sequence[Any],
    source: ResponseSource,
    max_batch_size: int,
    now: datetime,
) -> ResponsesResult:
    """Validate each item on its own and store the good ones once (by ``response_id``); a
    detractor or low CSAT among the new ones, answered within :data:`LOW_SCORE_WINDOW`, is a
    success event in the same transaction."""
    if len(items) > max_batch_size:
        raise PayloadTooLarge(
            f"A batch holds at most {max_batch_size} responses; this one has {len(items)}",
            details=[{"field": "responses", "reason": f"more than {max_batch_size} items"}],
        )
    valid, rejected = validate_each(SurveyResponseIn, items, key_field="response_id")
    kept = await _resolved(session, valid, rejected, now)
    first: dict[str, SurveyResponseIn] = {}
    for _, item in kept:
        first.setdefault(item.response_id, item)
    rows = [_row(item, source=source, survey_id=None, now=now) for item in first.values()]
    inserted, low = await _store(session, rows, now)
    rejected.sort(key=lambda r: r.index)
    return ResponsesResult(
        accepted=len(inserted),
        duplicates=len(kept) - len(inserted),
        rejected=len(rejected),
        errors=rejected,
        low_scores=low,
    )


def survey_response_id(survey_id: uuid.UUID) -> str:
    """The one response a survey sent can have (a link clicked twice, two devices)."""
    return f"survey:{survey_id}"


@dataclass(frozen=True)
class Answered:
    survey: SurveySent
    response: SurveyResponse
    created: bool


async def answer_survey(
    *,
    session: AsyncSession,
    intervention_id: uuid.UUID,
    score: int,
    comment: str | None,
    source: ResponseSource,
    supplier_user_id: uuid.UUID | None,
    now: datetime,
) -> Answered:
    """Record the answer to the survey that message ``intervention_id`` carried: the first
    answer counts (``created``), a later one changes nothing (its comment is added if the
    first had none)."""
    sent = await repository.sent_for_intervention(session, intervention_id)
    if sent is None or (supplier_user_id is not None and supplier_user_id != sent.supplier_user_id):
        raise NotFound("No survey for this message")
    kind = SurveyKind(sent.kind)
    try:
        on_scale(kind, score)
    except ValueError as exc:
        raise ValidationFailed(str(exc), details=[{"field": "score", "reason": str(exc)}]) from None
    item = SurveyResponseIn(
        response_id=survey_response_id(sent.id),
        kind=kind,
        score=score,
        comment=comment,
        supplier_id=sent.supplier_id,
        supplier_user_id=sent.supplier_user_id,
        responded_at=now,
    )
    inserted, _ = await _store(
        session, [_row(item, source=source, survey_id=sent.id, now=now)], now
    )
    stored = await repository.response(session, item.response_id)
    assert stored is not None, "inserted now or before"
    if not inserted and item.comment and not stored.comment:
        await repository.set_comment(session, item.response_id, item.comment)
        await session.refresh(stored)
    return Answered(survey=sent, response=stored, created=bool(inserted))


async def add_comment(
    *, session: AsyncSession, intervention_id: uuid.UUID, comment: str
) -> SurveyResponse:
    """Set the comment of the answer to the survey message ``intervention_id`` carried."""
    sent = await repository.sent_for_intervention(session, intervention_id)
    stored = await repository.response(session, survey_response_id(sent.id)) if sent else None
    if stored is None:
        raise NotFound("This survey has no answer yet")
    await repository.set_comment(session, stored.response_id, comment)
    await session.refresh(stored)
    return stored


# --- asking -------------------------------------------------------------------------------


async def send_survey(
    *,
    session: AsyncSession,
    supplier_id: uuid.UUID,
    body: SendSurveyIn,
    intervals: SurveyIntervals,
    category: Category,
    sent_by: uuid.UUID | None,
    now: datetime,
) -> SurveySentOut:
    """Queue a survey to one of the supplier's users, unless that user was asked the same
    kind within its interval. Delivery goes through the interventions' worker and gate, so
    preferences, the frequency cap (marketing) and quiet hours apply and are recorded."""
    await lock_suppliers(session, [supplier_id])  # two asks at once: one sees the other
    supplier = await suppliers_repository.get(session, supplier_id)
    if supplier is None:
        raise NotFound(f"No supplier with id {supplier_id}")
    if body.supplier_user_id is not None:
        users = await suppliers_repository.users_of(session, supplier_id)
        user = next((u for u in users if u.id == body.supplier_user_id), None)
        if user is None:
            raise ValidationFailed(
                "That user does not belong to this supplier",
                details=[{"field": "supplier_user_id", "reason": "not a user of this supplier"}],
            )
    else:
        user = (await suppliers_repository.primary_contacts(session, [supplier_id])).get(
            supplier_id
        )
        if user is None:
            raise ValidationFailed(
                "This supplier has no users to ask",
                details=[{"field": "supplier_user_id", "reason": "the supplier has no users"}],
            )
    last = await repository.last_asked(session, supplier_user_id=user.id, kind=body.kind)
    interval = intervals.of(body.kind)
    if last is not None and now - last < interval:
        return SurveySentOut(
            outcome=SendOutcome.ASKED_RECENTLY,
            survey_id=None,
            intervention_id=None,
            detail=f"asked {body.kind.value} on {last:%d %b %Y}; "
            f"not again within {interval.days} days",
        )
    survey_id = uuid.uuid4()
    message, _ = await queue_one_off(
        session=session,
        supplier_id=supplier_id,
        supplier_user_id=user.id,
        channel=CHANNELS[body.channel],
        category=category,
        subject=SUBJECTS[body.kind],
        body=QUESTIONS[body.kind],
        idempotency_key=f"survey:{survey_id}",
        sent_by=sent_by,
        now=now,
        template=template_of(body.kind),
    )
    await repository.add_sent(
        session,
        SurveySent(
            id=survey_id,
            kind=body.kind.value,
            supplier_id=supplier_id,
            supplier_user_id=user.id,
            intervention_id=message.id,
            channel=body.channel.value,
            trigger=body.trigger.value,
            reference=body.reference,
            created_at=now,
        ),
    )
    return SurveySentOut(
        outcome=SendOutcome.QUEUED, survey_id=survey_id, intervention_id=message.id
    )


async def send_due(
    *,
    session: AsyncSession,
    kind: SurveyKind,
    channel: SurveyChannel,
    intervals: SurveyIntervals,
    category: Category,
    limit: int,
    now: datetime,
) -> list[SurveySentOut]:
    """The periodic ask: up to ``limit`` active customers not asked ``kind`` within its
    interval (one query finds them) each get the survey at their primary contact."""
    due = await repository.suppliers_due(
        session, kind=kind, asked_before=now - intervals.of(kind), limit=limit
    )
    contacts = await suppliers_repository.primary_contacts(session, due)
    body = SendSurveyIn(kind=kind, channel=channel, trigger=SurveyTrigger.PERIODIC)
    return [
        await send_survey(
            session=session,
            supplier_id=supplier_id,
            body=body,
            intervals=intervals,
            category=category,
            sent_by=None,
            now=now,
        )
        for supplier_id in due
        if supplier_id in contacts
    ]


# --- reading ------------------------------------------------------------------------------


async def latest_scores(
    *, session: AsyncSession, supplier_id: uuid.UUID, limit: int = 10
) -> LatestScores:
    """The supplier's latest NPS and CSAT, and its recent responses with their comments."""
    nps = await repository.latest_of_kind(session, supplier_id, SurveyKind.NPS)
    csat = await repository.latest_of_kind(session, supplier_id, SurveyKind.CSAT)
    recent = await repository.recent_for_supplier(session, supplier_id, limit=limit)
    return LatestScores(
        nps=ResponseOut.model_validate(nps) if nps else None,
        csat=ResponseOut.model_validate(csat) if csat else None,
        recent=[ResponseOut.model_validate(r) for r in recent],
    )


async def list_responses(
    *,
    session: AsyncSession,
    kind: SurveyKind | None,
    supplier_id: uuid.UUID | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[ResponseOut]:
    rows = await repository.listing(
        session, kind=kind, supplier_id=supplier_id, start=start, end=end, limit=limit
    )
    return [ResponseOut.model_validate(r) for r in rows]
