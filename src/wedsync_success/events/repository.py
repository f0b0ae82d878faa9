"""Every query of the events domain beyond dispatching: reading the success-event log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.events.models import OutboxEvent


async def recent(
    session: AsyncSession,
    *,
    supplier_id: uuid.UUID | None = None,
    event_type: str | None = None,
    before_sequence: int | None = None,
    limit: int = 50,
    supplier_ids: Sequence[uuid.UUID] | None = None,
) -> Sequence[OutboxEvent]:
    """Success events, newest first, optionally for one supplier (or any of
    ``supplier_ids``) or of one type."""
    conditions = []
    if supplier_id is not None:
        conditions.append(OutboxEvent.supplier_id == supplier_id)
    if supplier_ids is not None:
        conditions.append(OutboxEvent.supplier_id.in_(list(supplier_ids)))
    if event_type is not None:
        conditions.append(OutboxEvent.event_type == event_type)
    if before_sequence is not None:
        conditions.append(OutboxEvent.id < before_sequence)
    rows = await session.scalars(
        select(OutboxEvent).where(*conditions).order_by(OutboxEvent.id.desc()).limit(limit)
    )
    return rows.all()


async def backlog(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many events wait for delivery, and when the oldest of them was written."""
    row = (
        await session.execute(
            select(func.count(), func.min(OutboxEvent.created_at)).where(
                OutboxEvent.published_at.is_(None)
            )
        )
    ).one()
    count, oldest = row
    return int(count or 0), oldest
