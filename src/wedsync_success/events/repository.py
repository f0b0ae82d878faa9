"""Every query of the events domain beyond dispatching: reading the success-event log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, func, select
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


async def counts_since(
    session: AsyncSession,
    *,
    event_types: Sequence[str],
    field: str,
    since: Sequence[datetime],
    value: str | None = None,
) -> dict[tuple[str, str], list[int]]:
    """For events of ``event_types`` grouped by the payload's ``field`` and the type, how
    many occurred at or after each instant of ``since`` (``value`` keeps one group).

    One scan of the ``(event_type, occurred_at)`` index from the earliest instant, a
    conditional sum per instant: the same SQL on SQLite and PostgreSQL (no date functions).
    """
    if not since or not event_types:
        return {}
    o = OutboxEvent
    key = o.payload[field].as_string()
    found = select(key.label("k"), o.event_type.label("t"), o.occurred_at.label("at")).where(
        o.event_type.in_(list(event_types)), o.occurred_at >= min(since)
    )
    if value is not None:
        found = found.where(key == value)
    rows = found.subquery()
    query = select(
        rows.c.k,
        rows.c.t,
        *(func.sum(case((rows.c.at >= at, 1), else_=0)) for at in since),
    ).group_by(rows.c.k, rows.c.t)
    return {(k, t): [int(n or 0) for n in counts] for k, t, *counts in await session.execute(query)}


async def recent_by_payload(
    session: AsyncSession, *, event_types: Sequence[str], field: str, value: str, limit: int
) -> Sequence[OutboxEvent]:
    """The newest events of ``event_types`` whose payload's ``field`` is ``value``."""
    o = OutboxEvent
    rows = await session.scalars(
        select(o)
        .where(o.event_type.in_(list(event_types)), o.payload[field].as_string() == value)
        .order_by(o.id.desc())
        .limit(limit)
    )
    return rows.all()
