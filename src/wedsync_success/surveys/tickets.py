"""CSAT after a support ticket, automatically: the consumer of
``supplier.support_ticket_closed`` (announced by ``activity.tickets`` in the ingest's
transaction).

It runs in the dispatcher's transaction (a transactional consumer: its writes and its
receipts commit together), claims each ticket once ever in ``survey_ticket_asks`` (a re-sent
event, a re-import or a second dispatcher finds it claimed and asks nothing), then asks the
ticket's user (the primary contact when the event names none, or one not of this supplier)
through :func:`~wedsync_success.surveys.service.send_survey`: the CSAT interval, and at
delivery the caps, quiet hours and preferences of every message, apply and are recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import partial

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.config import Settings
from wedsync_success.events.bus import Transport
from wedsync_success.events.types import SuccessEvent, SuccessEventType
from wedsync_success.interventions.channels.base import Category
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.suppliers import repository as suppliers_repository
from wedsync_success.surveys import repository
from wedsync_success.surveys.kinds import SurveyKind
from wedsync_success.surveys.schemas import SendSurveyIn, SurveyTrigger
from wedsync_success.surveys.service import intervals_of, send_survey

CONSUMER = "surveys.csat_after_ticket"
NO_USER = "no_user"
"""The outcome of a ticket whose supplier has no user to ask."""
PENDING = "pending"

log = structlog.get_logger(__name__)


def _user_id(event: SuccessEvent) -> uuid.UUID | None:
    raw = event.payload.get("supplier_user_id")
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


async def ask_after_tickets(
    session: AsyncSession, events: Sequence[SuccessEvent], now: datetime, *, settings: Settings
) -> None:
    """One CSAT ask per closed ticket not decided before, each outcome recorded."""
    tickets: dict[tuple[uuid.UUID, str], SuccessEvent] = {}
    for event in events:
        ticket_id = event.payload.get("ticket_id")
        if event.supplier_id is not None and isinstance(ticket_id, str) and ticket_id:
            tickets.setdefault((event.supplier_id, ticket_id), event)
    claimed = await repository.claim_tickets(
        session,
        [
            {
                "supplier_id": supplier_id,
                "ticket_id": ticket_id,
                "closed_at": event.occurred_at,
                "outcome": PENDING,
                "survey_id": None,
                "created_at": now,
            }
            for (supplier_id, ticket_id), event in tickets.items()
        ],
    )
    if not claimed:
        return
    named = {key: _user_id(tickets[key]) for key in claimed}
    owners = await suppliers_repository.user_owners(
        session, sorted({u for u in named.values() if u is not None})
    )
    intervals = intervals_of(settings)
    for supplier_id, ticket_id in sorted(claimed, key=lambda k: (str(k[0]), k[1])):
        user_id = named[(supplier_id, ticket_id)]
        outcome, survey_id = NO_USER, None
        try:
            body = SendSurveyIn(
                kind=SurveyKind.CSAT,
                channel=settings.survey_csat_ticket_channel,
                supplier_user_id=user_id
                if user_id in owners and owners[user_id] == supplier_id
                else None,
                trigger=SurveyTrigger.SUPPORT_TICKET,
                reference=ticket_id,
            )
            sent = await send_survey(
                session=session,
                supplier_id=supplier_id,
                body=body,
                intervals=intervals,
                category=Category.MARKETING,
                sent_by=None,
                now=now,
            )
            outcome, survey_id = sent.outcome.value, sent.survey_id
        except (ValidationFailed, ValidationError) as exc:  # no users; a reference it refuses
            log.info("csat_after_ticket_not_asked", ticket_id=ticket_id, reason=str(exc))
        await repository.set_ticket_outcome(
            session,
            supplier_id=supplier_id,
            ticket_id=ticket_id,
            outcome=outcome,
            survey_id=survey_id,
        )


def subscribe(transport: Transport, settings: Settings) -> None:
    """Ask after closed tickets, when this deployment wants it
    (``WEDSYNC_SURVEY_CSAT_AFTER_TICKET``)."""
    if settings.survey_csat_after_ticket:
        transport.subscribe_batch(
            CONSUMER,
            partial(ask_after_tickets, settings=settings),
            [SuccessEventType.SUPPORT_TICKET_CLOSED.value],
        )
