"""Closed support tickets as success events: each recent ``support_resolved`` event newly
stored is one ``supplier.support_ticket_closed`` in the ingest's transaction, which the
surveys room answers with a CSAT ask (``surveys.tickets``).

A duplicate event is not newly stored, so it announces nothing; a ticket closed longer ago
than ``WEDSYNC_SURVEY_TICKET_RECENT_DAYS`` (an import of history) is stored and counted,
but announces nothing either. An event without the ticket id property names no ticket to
ask about (nor to ask about once), so it announces nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity import repository
from wedsync_success.activity.roles import Role, current_roles
from wedsync_success.config import Settings
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEventType

MAX_TICKET_ID_CHARS = 128
"""The longest ticket id a survey can carry as its reference."""


def ticket_id_of(properties: dict[str, object], name: str) -> str | None:
    """The ticket id the event's property ``name`` holds (a string or an integer), or
    ``None`` when it is missing, empty, too long or of another type."""
    value = properties.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text if 0 < len(text) <= MAX_TICKET_ID_CHARS else None


async def announce_closed_tickets(
    *, session: AsyncSession, batch_id: int, settings: Settings, now: datetime
) -> int:
    """A success event per recent closed ticket the batch newly stored; how many."""
    types = current_roles().types(Role.SUPPORT_RESOLVED)
    since = now - timedelta(days=settings.survey_ticket_recent_days)
    closed = await repository.newly_stored_since(session, batch_id, types, since=since)
    events = []
    for event_id, supplier_id, user_id, occurred_at, properties in closed:
        ticket_id = ticket_id_of(properties, settings.survey_ticket_id_property)
        if ticket_id is not None:
            payload = {
                "activity_event_id": event_id,
                "ticket_id": ticket_id,
                "supplier_user_id": str(user_id) if user_id else None,
            }
            events.append(
                NewEvent(
                    event_type=SuccessEventType.SUPPORT_TICKET_CLOSED,
                    supplier_id=supplier_id,
                    occurred_at=occurred_at,
                    payload=payload,
                )
            )
    return await enqueue(session=session, events=events, now=now)
