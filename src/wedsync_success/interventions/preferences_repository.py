"""Every query on contact preferences."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db.upsert import dialect_insert
from wedsync_success.interventions.models import ContactPreference

MAX_IDS_PER_QUERY = 5000
"""Ids bound per statement (each is one bind parameter; drivers cap them near 32,767)."""


async def refused_among(
    session: AsyncSession,
    *,
    supplier_user_ids: Collection[uuid.UUID],
    channel: str,
    categories: Sequence[str],
) -> set[uuid.UUID]:
    """Those of ``supplier_user_ids`` who unsubscribed from ``channel`` for any of
    ``categories`` (one statement per 5,000 users)."""
    ids = sorted(set(supplier_user_ids))
    refused: set[uuid.UUID] = set()
    p = ContactPreference
    for start in range(0, len(ids), MAX_IDS_PER_QUERY):
        chunk = ids[start : start + MAX_IDS_PER_QUERY]
        refused.update(
            await session.scalars(
                select(p.supplier_user_id)
                .where(
                    p.supplier_user_id.in_(chunk),
                    p.channel == channel,
                    p.category.in_(list(categories)),
                    p.subscribed.is_(False),
                )
                .distinct()
            )
        )
    return refused


async def upsert(
    session: AsyncSession,
    *,
    supplier_user_id: uuid.UUID,
    choices: Sequence[tuple[str, str, bool]],
    source: str,
    now: datetime,
) -> None:
    """Store (channel, category, subscribed) choices of one user; a choice equal to the stored
    one leaves its row (source, updated_at) untouched, so repeating a request changes nothing.
    Rows go in key order, so concurrent writers lock them in one order."""
    if not choices:
        return
    rows = [
        {
            "supplier_user_id": supplier_user_id,
            "channel": channel,
            "category": category,
            "subscribed": subscribed,
            "source": source,
            "updated_at": now,
        }
        for channel, category, subscribed in sorted(choices)
    ]
    stmt = dialect_insert(session, ContactPreference)
    table = ContactPreference.__table__
    stmt = stmt.on_conflict_do_update(
        index_elements=["supplier_user_id", "channel", "category"],
        set_={
            "subscribed": stmt.excluded.subscribed,
            "source": stmt.excluded.source,
            "updated_at": stmt.excluded.updated_at,
        },
        where=table.c.subscribed != stmt.excluded.subscribed,
    )
    await session.execute(stmt, rows)


async def of_user(session: AsyncSession, *, supplier_user_id: uuid.UUID) -> list[ContactPreference]:
    """The stored choices of one user."""
    p = ContactPreference
    rows = await session.scalars(
        select(p).where(p.supplier_user_id == supplier_user_id).order_by(p.channel, p.category)
    )
    return list(rows)
