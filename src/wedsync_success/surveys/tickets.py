"""CSAT after a support ticket: the consumer of ``supplier.support_ticket_closed``
(announced by ``activity.tickets`` in the ingest's transaction, for recent closings only)
asks the ticket's user (the primary contact when the event names none, or one not of this
supplier) once per ticket ever (:mod:`~wedsync_success.surveys.automatic`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.config import Settings
from wedsync_success.events.bus import Transport
from wedsync_success.events.types import SuccessEvent, SuccessEventType
from wedsync_success.surveys.automatic import Ask, ask_once, user_id_in
from wedsync_success.surveys.schemas import SurveyTrigger

CONSUMER = "surveys.csat_after_ticket"


def asks_of(events: Sequence[SuccessEvent]) -> list[Ask]:
    """One ask per event that names its supplier and ticket."""
    asks = []
    for event in events:
        ticket_id = event.payload.get("ticket_id")
        if event.supplier_id is not None and isinstance(ticket_id, str) and ticket_id:
            asks.append(
                Ask(
                    supplier_id=event.supplier_id,
                    trigger=SurveyTrigger.SUPPORT_TICKET,
                    reference=ticket_id,
                    occurred_at=event.occurred_at,
                    supplier_user_id=user_id_in(event.payload),
                )
            )
    return asks


async def ask_after_tickets(
    session: AsyncSession, events: Sequence[SuccessEvent], now: datetime, *, settings: Settings
) -> None:
    """One CSAT ask per closed ticket not asked about before."""
    await ask_once(session, asks_of(events), settings=settings, now=now)


def subscribe(transport: Transport, settings: Settings) -> None:
    transport.subscribe_batch(
        CONSUMER,
        partial(ask_after_tickets, settings=settings),
        [SuccessEventType.SUPPORT_TICKET_CLOSED.value],
    )
