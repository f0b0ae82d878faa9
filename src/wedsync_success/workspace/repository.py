"""Every query of the workspace domain: notes on suppliers and account alert snoozes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.workspace.models import AccountSnooze, SupplierNote


async def note(session: AsyncSession, note_id: uuid.UUID) -> SupplierNote | None:
    return await session.get(SupplierNote, note_id, populate_existing=True)


async def notes_page(
    session: AsyncSession,
    supplier_id: uuid.UUID,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[SupplierNote]:
    """A supplier's notes, newest first, by keyset on (created_at, id)."""
    n = SupplierNote
    query = select(n).where(n.supplier_id == supplier_id)
    if after is not None:
        query = query.where(tuple_(n.created_at, n.id) < tuple_(*after))
    rows = await session.scalars(query.order_by(n.created_at.desc(), n.id.desc()).limit(limit))
    return rows.all()


def _active(now: datetime) -> ColumnElement[bool]:
    """In force at ``now``: started, not over, not ended early."""
    s = AccountSnooze
    return (s.starts_at <= now) & (s.until > now) & s.ended_at.is_(None)


async def active_snoozes(
    session: AsyncSession, supplier_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, AccountSnooze]:
    """The snooze in force at ``now`` for each of ``supplier_ids`` that has one (the one
    lasting longest, should two overlap)."""
    if not supplier_ids:
        return {}
    rows = await session.scalars(
        select(AccountSnooze)
        .where(AccountSnooze.supplier_id.in_(list(supplier_ids)), _active(now))
        .order_by(AccountSnooze.until)
    )
    return {row.supplier_id: row for row in rows}


async def end_active_snoozes(session: AsyncSession, supplier_id: uuid.UUID, now: datetime) -> int:
    """End every snooze of the supplier in force at ``now``; how many there were."""
    result = await session.execute(
        update(AccountSnooze)
        .where(AccountSnooze.supplier_id == supplier_id, _active(now))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
