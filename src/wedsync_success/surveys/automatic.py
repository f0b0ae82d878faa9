"""The CSATs the system asks by itself, once each: after a support ticket closed
(:mod:`~wedsync_success.surveys.tickets`) and after a playbook run ended
(:mod:`~wedsync_success.surveys.after_interventions`).

Both are transactional consumers of success events (in the dispatcher's transaction: their
writes and their receipts commit together). Each ask is first claimed in
``survey_auto_asks`` under ``(supplier, trigger, reference)``: a re-sent event, a
re-import or a second dispatcher finds it claimed and asks nothing, and the claim keeps the
outcome. The ask itself is :func:`~wedsync_success.surveys.service.send_survey`, so the
CSAT interval applies, and at delivery the caps, quiet hours and preferences of every
message.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.config import Settings
from wedsync_success.events.bus import Transport
from wedsync_success.interventions.channels.base import Category
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.suppliers import repository as suppliers_repository
from wedsync_success.surveys import repository
from wedsync_success.surveys.kinds import SurveyKind
from wedsync_success.surveys.schemas import SendSurveyIn, SurveyTrigger
from wedsync_success.surveys.service import intervals_of, send_survey

NO_USER = "no_user"
"""The outcome of an ask whose supplier has no user to ask."""
PENDING = "pending"

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Ask:
    """One CSAT the system means to ask: about ``reference`` (a ticket, a run), of
    ``supplier_user_id`` if it is one of the supplier's users, else the primary contact."""

    supplier_id: uuid.UUID
    trigger: SurveyTrigger
    reference: str
    occurred_at: datetime
    supplier_user_id: uuid.UUID | None = None

    @property
    def key(self) -> tuple[uuid.UUID, str, str]:
        return (self.supplier_id, self.trigger.value, self.reference)


def user_id_in(payload: dict[str, object]) -> uuid.UUID | None:
    """The ``supplier_user_id`` a success event's payload names, if it is a UUID."""
    raw = payload.get("supplier_user_id")
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


async def ask_once(
    session: AsyncSession, asks: Sequence[Ask], *, settings: Settings, now: datetime
) -> None:
    """Claim each ask not claimed before and ask it, recording each outcome."""
    unique = {a.key: a for a in reversed(asks)}  # the first of a key wins
    claimed = await repository.claim_asks(
        session,
        [
            {
                "supplier_id": a.supplier_id,
                "trigger": a.trigger.value,
                "reference": a.reference,
                "occurred_at": a.occurred_at,
                "outcome": PENDING,
                "survey_id": None,
                "created_at": now,
            }
            for a in unique.values()
        ],
    )
    if not claimed:
        return
    mine = [unique[key] for key in sorted(claimed, key=lambda k: (str(k[0]), k[1], k[2]))]
    owners = await suppliers_repository.user_owners(
        session, sorted({a.supplier_user_id for a in mine if a.supplier_user_id is not None})
    )
    intervals = intervals_of(settings)
    for ask in mine:
        user = ask.supplier_user_id
        of_supplier = user is not None and owners.get(user) == ask.supplier_id
        outcome, survey_id = NO_USER, None
        try:
            body = SendSurveyIn(
                kind=SurveyKind.CSAT,
                channel=settings.survey_csat_channel,
                supplier_user_id=user if of_supplier else None,
                trigger=ask.trigger,
                reference=ask.reference,
            )
            sent = await send_survey(
                session=session,
                supplier_id=ask.supplier_id,
                body=body,
                intervals=intervals,
                category=Category.MARKETING,
                sent_by=None,
                now=now,
            )
            outcome, survey_id = sent.outcome.value, sent.survey_id
        except (ValidationFailed, ValidationError) as exc:  # no users; a reference refused
            log.info("automatic_csat_not_asked", reference=ask.reference, reason=str(exc))
        await repository.set_ask_outcome(session, key=ask.key, outcome=outcome, survey_id=survey_id)


def subscribe(transport: Transport, settings: Settings) -> None:
    """The automatic CSATs this deployment wants (``WEDSYNC_SURVEY_CSAT_AFTER_TICKET``,
    ``WEDSYNC_SURVEY_CSAT_AFTER_INTERVENTION``)."""
    from wedsync_success.surveys import after_interventions, tickets

    if settings.survey_csat_after_ticket:
        tickets.subscribe(transport, settings)
    if settings.survey_csat_after_intervention:
        after_interventions.subscribe(transport, settings)
