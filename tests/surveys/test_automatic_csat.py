"""CSAT after a support ticket or an intervention, automatically, on SQLite and PostgreSQL.

A closed ticket's
event (the ``support_resolved`` role) becomes one success event in the ingest's transaction,
and its consumer asks the ticket's user once per ticket ever, through the interventions'
gate (the CSAT interval, preferences, caps); the answers show up in the CSAT report by
trigger. A ticket closed long ago (an import of history) asks nothing. A treated playbook
run that ends complete or at its goal asks the primary contact once per run; a control run
or an early exit asks nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.conftest import FakeClock
from tests.interventions.conftest import (
    emptied_context,
    outbox_count,
    seed_supplier,
)
from tests.interventions.sms_provider import ProviderState
from tests.reports.roi_data import run
from tests.surveys.helpers import (
    Mailbox,
    intervention_of,
    survey_settings,
    unsubscribe_from_email,
    user_of,
)
from wedsync_success import pipeline
from wedsync_success.activity.tickets import MAX_TICKET_ID_CHARS, ticket_id_of
from wedsync_success.context import AppContext
from wedsync_success.events.types import SuccessEvent, SuccessEventType
from wedsync_success.interventions.models import Arm, RunStatus
from wedsync_success.interventions.runs import end_run
from wedsync_success.reports.windows import ReportPeriod
from wedsync_success.surveys import service
from wedsync_success.surveys.after_interventions import ask_after_interventions
from wedsync_success.surveys.kinds import Segment
from wedsync_success.surveys.metrics import csat_report
from wedsync_success.surveys.models import SurveyAutoAsk, SurveySent
from wedsync_success.surveys.schemas import ResponseSource
from wedsync_success.surveys.tickets import ask_after_tickets

CLOSED = SuccessEventType.SUPPORT_TICKET_CLOSED.value


def _closed(
    supplier_id: uuid.UUID,
    event_id: str,
    ticket_id: Any,
    at: datetime,
    *,
    user_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "supplier_id": str(supplier_id),
        "user_id": str(user_id) if user_id else None,
        "type": "support_ticket_closed",
        "occurred_at": at.isoformat(),
        "properties": {"ticket_id": ticket_id, "category": "billing"},
    }


async def _ingest(ctx: AppContext, *items: dict[str, Any]) -> None:
    """Store the events (the path of the API and of `import events`) and dispatch."""
    async with ctx.db.transaction() as session:
        stored = await pipeline.store(session=session, ctx=ctx, items=list(items))
    assert stored.result.rejected == 0, stored.result.errors
    await ctx.dispatcher.drain()


async def _sent(ctx: AppContext) -> list[SurveySent]:
    async with ctx.db.sessions() as session:
        return list(await session.scalars(select(SurveySent).order_by(SurveySent.created_at)))


async def _asks(ctx: AppContext) -> dict[str, str]:
    async with ctx.db.sessions() as session:
        rows = await session.scalars(select(SurveyAutoAsk))
        return {r.reference: r.outcome for r in rows}


async def test_closing_a_ticket_asks_its_user_once_ever(octx: AppContext, clock: FakeClock) -> None:
    supplier_id = await seed_supplier(octx)
    user_id = await user_of(octx, supplier_id)
    await _ingest(octx, _closed(supplier_id, "ev-1", "T-100", clock.now, user_id=user_id))
    (sent,) = await _sent(octx)
    assert (sent.kind, sent.trigger, sent.reference) == ("csat", "support_ticket", "T-100")
    assert (sent.supplier_user_id, sent.channel) == (user_id, "email")
    assert await _asks(octx) == {"T-100": "queued"}
    # The same event again, the ticket again under a new event id, and after the CSAT
    # interval has passed: never a second ask about this ticket.
    await _ingest(octx, _closed(supplier_id, "ev-1", "T-100", clock.now))
    assert await outbox_count(octx, CLOSED) == 1
    clock.advance(days=30)
    await _ingest(octx, _closed(supplier_id, "ev-2", "T-100", clock.now))
    assert await outbox_count(octx, CLOSED) == 2
    assert len(await _sent(octx)) == 1
    # Another ticket, past the interval: asked.
    await _ingest(octx, _closed(supplier_id, "ev-3", 101, clock.now))
    assert [s.reference for s in await _sent(octx)] == ["T-100", "101"]


async def test_the_csat_interval_holds_a_second_ticket_back_and_says_so(
    octx: AppContext, clock: FakeClock
) -> None:
    supplier_id = await seed_supplier(octx)
    await _ingest(
        octx,
        _closed(supplier_id, "ev-1", "T-1", clock.now),
        _closed(supplier_id, "ev-2", "T-2", clock.now + timedelta(seconds=1)),
    )
    assert len(await _sent(octx)) == 1
    assert sorted((await _asks(octx)).values()) == ["asked_recently", "queued"]


async def test_old_tickets_of_an_import_ask_nothing(octx: AppContext, clock: FakeClock) -> None:
    supplier_id = await seed_supplier(octx)
    await _ingest(
        octx,
        _closed(supplier_id, "old", "T-old", clock.now - timedelta(days=7, seconds=1)),
        _closed(supplier_id, "no-ticket", None, clock.now),
    )
    assert await outbox_count(octx, CLOSED) == 0
    assert await _sent(octx) == []
    await _ingest(octx, _closed(supplier_id, "recent", "T-new", clock.now - timedelta(days=6)))
    assert [s.reference for s in await _sent(octx)] == ["T-new"]


async def test_a_user_of_another_supplier_or_none_asks_the_primary_contact(
    octx: AppContext, clock: FakeClock
) -> None:
    supplier_id = await seed_supplier(octx)
    other = await seed_supplier(octx)
    stranger = await user_of(octx, other)
    await _ingest(octx, _closed(supplier_id, "ev-1", "T-1", clock.now, user_id=stranger))
    (sent,) = await _sent(octx)
    assert sent.supplier_user_id == await user_of(octx, supplier_id)


async def test_a_supplier_without_users_is_recorded_as_not_asked(
    octx: AppContext, clock: FakeClock
) -> None:
    supplier_id = await seed_supplier(octx, users=[])
    await _ingest(octx, _closed(supplier_id, "ev-1", "T-1", clock.now))
    assert await _sent(octx) == []
    assert await _asks(octx) == {"T-1": "no_user"}


async def test_an_opted_out_user_is_recorded_as_unsubscribed(
    octx: AppContext, mailbox: Mailbox, clock: FakeClock
) -> None:
    supplier_id = await seed_supplier(octx)
    await unsubscribe_from_email(octx, supplier_id)
    await _ingest(octx, _closed(supplier_id, "ev-1", "T-1", clock.now))
    await octx.interventions.worker().work_once()
    (sent,) = await _sent(octx)
    assert mailbox[0].emails() == []
    assert (await intervention_of(octx, str(sent.intervention_id))).status == "unsubscribed"


async def test_the_answer_shows_in_the_csat_report_by_trigger(
    octx: AppContext, clock: FakeClock
) -> None:
    supplier_id = await seed_supplier(octx)
    await _ingest(octx, _closed(supplier_id, "ev-1", "T-1", clock.now))
    (sent,) = await _sent(octx)
    async with octx.db.transaction() as session:
        await service.answer_survey(
            session=session,
            intervention_id=sent.intervention_id,
            score=5,
            comment=None,
            source=ResponseSource.EMAIL,
            supplier_user_id=None,
            now=clock.now,
        )
        await service.record_responses(
            session=session,
            items=[
                {
                    "response_id": "typeform-1",
                    "kind": "csat",
                    "score": 2,
                    "supplier_id": str(supplier_id),
                    "responded_at": clock.now.isoformat(),
                }
            ],
            source=ResponseSource.API,
            max_batch_size=10,
            now=clock.now,
        )
    day = clock.now.date()
    async with octx.db.sessions() as session:
        report = await csat_report(
            session=session,
            start=day,
            end=day + timedelta(days=1),
            period=ReportPeriod.MONTH,
            by=Segment.TRIGGER,
        )
    by_trigger = {f.segment: (f.responses, f.satisfied) for f in report.segments}
    assert by_trigger == {"support_ticket": (1, 1), "unprompted": (1, 0)}


async def test_switched_off_nothing_is_asked(
    database_url: str,
    clock: FakeClock,
    mailbox: Mailbox,
    sms: tuple[str, ProviderState],
    tmp_path: Path,
) -> None:
    settings = survey_settings(
        database_url,
        mailbox,
        sms,
        tmp_path,
        survey_csat_after_ticket=False,
    )
    async with emptied_context(settings, clock) as ctx:
        supplier_id = await seed_supplier(ctx)
        await _ingest(ctx, _closed(supplier_id, "ev-1", "T-1", clock.now))
        assert await outbox_count(ctx, CLOSED) == 1  # the fact is still announced
        assert await _sent(ctx) == []


async def test_in_app_when_configured(
    database_url: str,
    clock: FakeClock,
    mailbox: Mailbox,
    sms: tuple[str, ProviderState],
    tmp_path: Path,
) -> None:
    settings = survey_settings(
        database_url,
        mailbox,
        sms,
        tmp_path,
        survey_csat_channel="in_app",
        survey_ticket_id_property="case",
    )
    async with emptied_context(settings, clock) as ctx:
        supplier_id = await seed_supplier(ctx)
        item = _closed(supplier_id, "ev-1", "ignored", clock.now)
        item["properties"]["case"] = "C-9"
        await _ingest(ctx, item)
        (sent,) = await _sent(ctx)
        assert (sent.channel, sent.reference) == ("in_app", "C-9")


async def test_two_deliveries_at_once_ask_once(octx: AppContext, clock: FakeClock) -> None:
    """Two dispatchers (or a redelivery) handing the same ticket to the consumer at once."""
    supplier_id = await seed_supplier(octx)
    event = SuccessEvent(
        sequence=1,
        event_id=uuid.uuid4(),
        event_type=CLOSED,
        supplier_id=supplier_id,
        occurred_at=clock.now,
        payload={"ticket_id": "T-1", "supplier_user_id": None},
    )

    async def deliver() -> None:
        async with octx.db.transaction() as session:
            await ask_after_tickets(session, [event], clock.now, settings=octx.settings)

    await asyncio.gather(deliver(), deliver())
    assert len(await _sent(octx)) == 1
    async with octx.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(SurveyAutoAsk)) == 1


@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=300),
        st.lists(st.text(max_size=3), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    )
)
def test_any_property_value_is_a_ticket_id_or_none(value: object) -> None:
    found = ticket_id_of({"ticket_id": value}, "ticket_id")
    usable = isinstance(value, str | int) and not isinstance(value, bool)
    text = str(value).strip()
    if usable and 0 < len(text) <= MAX_TICKET_ID_CHARS:
        assert found == text
    else:
        assert found is None


async def _run_ends(
    ctx: AppContext, supplier_id: uuid.UUID, *, arm: Arm, status: RunStatus
) -> uuid.UUID:
    """A playbook run of ``arm`` ends with ``status`` (its success event), dispatched."""
    row = run(supplier_id, "nudge", arm=arm, enrolled_at=ctx.clock(), mrr=4900)
    row.status = RunStatus.ACTIVE
    async with ctx.db.transaction() as session:
        session.add(row)
        await session.flush()
        await end_run(session, row, status, "test", ctx.clock())
    await ctx.dispatcher.drain()
    return row.id


async def test_a_treated_run_that_ends_well_asks_once(actx: AppContext, clock: FakeClock) -> None:
    supplier_id = await seed_supplier(actx)
    done = await _run_ends(actx, supplier_id, arm=Arm.TREATMENT, status=RunStatus.COMPLETED)
    (sent,) = await _sent(actx)
    assert (sent.kind, sent.trigger, sent.reference) == ("csat", "intervention", str(done))
    assert sent.supplier_user_id == await user_of(actx, supplier_id)
    # The same end delivered again (a second dispatcher) asks nothing more.
    event = SuccessEvent(
        sequence=99,
        event_id=uuid.uuid4(),
        event_type=SuccessEventType.INTERVENTION_EXITED.value,
        supplier_id=supplier_id,
        occurred_at=clock.now,
        payload={"run_id": str(done), "arm": "treatment", "status": "completed"},
    )
    clock.advance(days=30)
    async with actx.db.transaction() as session:
        await ask_after_interventions(session, [event], clock.now, settings=actx.settings)
    assert len(await _sent(actx)) == 1
    goal = await _run_ends(actx, supplier_id, arm=Arm.TREATMENT, status=RunStatus.GOAL_REACHED)
    assert [s.reference for s in await _sent(actx)] == [str(done), str(goal)]


async def test_control_runs_and_early_exits_ask_nothing(actx: AppContext) -> None:
    supplier_id = await seed_supplier(actx)
    await _run_ends(actx, supplier_id, arm=Arm.CONTROL, status=RunStatus.COMPLETED)
    await _run_ends(actx, supplier_id, arm=Arm.TREATMENT, status=RunStatus.EXITED)
    assert await _sent(actx) == []
    assert await _asks(actx) == {}


@pytest.fixture
async def actx(
    database_url: str,
    clock: FakeClock,
    mailbox: Mailbox,
    sms: tuple[str, ProviderState],
    tmp_path: Path,
) -> AsyncIterator[AppContext]:
    """A context that asks CSAT after interventions (off by default)."""
    settings = survey_settings(
        database_url,
        mailbox,
        sms,
        tmp_path,
        survey_csat_after_intervention=True,
    )
    async with emptied_context(settings, clock) as ctx:
        yield ctx


async def test_after_interventions_is_off_by_default(octx: AppContext) -> None:
    supplier_id = await seed_supplier(octx)
    await _run_ends(octx, supplier_id, arm=Arm.TREATMENT, status=RunStatus.COMPLETED)
    assert await _sent(octx) == []


HOSTILE = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@HOSTILE
@given(
    tickets=st.lists(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-(2**63), 2**63 - 1),
            st.text(max_size=140).filter(lambda t: "\x00" not in t),
            st.sampled_from(["T-1", "T-2", " T-1 "]),
        ),
        min_size=1,
        max_size=6,
    ),
    user=st.sampled_from(["none", "own", "random"]),
)
async def test_hostile_closings_ask_once_per_distinct_ticket(
    octx: AppContext, clock: FakeClock, tickets: list[Any], user: str
) -> None:
    """Whatever the events say, the ingest stores them and each distinct usable ticket id is
    asked about (or recorded) exactly once; nothing else is. (The context lives across the
    examples: each one has its own supplier.)"""
    supplier_id = await seed_supplier(octx)
    own = await user_of(octx, supplier_id)
    user_id = {"none": None, "own": own, "random": uuid.uuid4()}[user]
    items = [
        _closed(supplier_id, f"hyp-{uuid.uuid4()}", t, clock.now, user_id=user_id) for t in tickets
    ]
    async with octx.db.transaction() as session:
        stored = await pipeline.store(session=session, ctx=octx, items=items)
    await octx.dispatcher.drain()
    usable = {ticket_id_of({"ticket_id": t}, "ticket_id") for t in tickets} - {None}
    accepted = {
        ticket_id_of(item["properties"], "ticket_id")
        for item, error in zip(items, _rejected(stored.result, len(items)), strict=True)
        if not error
    } - {None}
    async with octx.db.sessions() as session:
        asks = set(
            await session.scalars(
                select(SurveyAutoAsk.reference).where(SurveyAutoAsk.supplier_id == supplier_id)
            )
        )
    assert asks == accepted
    assert accepted <= usable
    sent = [s for s in await _sent(octx) if s.supplier_id == supplier_id]
    assert len(sent) == (1 if accepted else 0)  # the CSAT interval: one ask at a time
    assert all(s.supplier_user_id == own for s in sent)


def _rejected(result: Any, n: int) -> list[bool]:
    bad = {e.index for e in result.errors}
    return [i in bad for i in range(n)]
