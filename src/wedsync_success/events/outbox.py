"""Writing success events into the outbox, inside the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.events.models import OutboxEvent
from wedsync_success.events.types import NewEvent


async def enqueue(*, session: AsyncSession, events: Sequence[NewEvent], now: datetime) -> int:
    """Add ``events`` to the outbox in one statement; they commit (or not) with the caller."""
    if not events:
        return 0
    await session.execute(
        insert(OutboxEvent),
        [
            {
                "event_id": uuid.uuid4(),
                "event_type": str(e.event_type),
                "supplier_id": e.supplier_id,
                "payload": e.payload,
                "occurred_at": e.occurred_at,
                "created_at": now,
                "attempts": 0,
            }
            for e in events
        ],
    )
    return len(events)
