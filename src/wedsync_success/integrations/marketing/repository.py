"""Every query of the marketing integration."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db.upsert import dialect_insert
from wedsync_success.integrations.marketing.models import (
    CampaignFiring,
    MarketingIdentity,
    MarketingMessage,
    MessageState,
)

FIRE_CHUNK = 1000
"""Suppliers per firing statement (5 parameters each, well under SQLite's limit)."""


async def add_messages(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert messages; one whose ``message_id`` exists stays as it is."""
    if rows:
        stmt = dialect_insert(session, MarketingMessage).on_conflict_do_nothing(
            index_elements=["message_id"]
        )
        await session.execute(stmt, list(rows))


async def trait_hashes(
    session: AsyncSession, supplier_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    if not supplier_ids:
        return {}
    rows = await session.execute(
        select(MarketingIdentity.supplier_id, MarketingIdentity.traits_hash).where(
            MarketingIdentity.supplier_id.in_(list(supplier_ids))
        )
    )
    return {supplier_id: digest for supplier_id, digest in rows}


async def set_trait_hashes(
    session: AsyncSession, hashes: dict[uuid.UUID, str], *, now: datetime
) -> None:
    """Remember the traits just identified (in supplier order: one global lock order)."""
    if not hashes:
        return
    stmt = dialect_insert(session, MarketingIdentity)
    stmt = stmt.on_conflict_do_update(
        index_elements=["supplier_id"],
        set_={"traits_hash": stmt.excluded.traits_hash, "identified_at": now},
    )
    await session.execute(
        stmt,
        [
            {"supplier_id": s, "traits_hash": hashes[s], "identified_at": now}
            for s in sorted(hashes)
        ],
    )


def _due(now: datetime) -> ColumnElement[bool]:
    """Pending messages whose time has come, and claimed ones whose worker's lease ran out."""
    return or_(
        (MarketingMessage.state == MessageState.PENDING) & (MarketingMessage.due_at <= now),
        (MarketingMessage.state == MessageState.SENDING) & (MarketingMessage.lease_until < now),
    )


async def any_due(session: AsyncSession, now: datetime) -> bool:
    found = await session.scalar(select(MarketingMessage.id).where(_due(now)).limit(1))
    return found is not None


async def next_due(session: AsyncSession) -> datetime | None:
    due: datetime | None = await session.scalar(
        select(func.min(MarketingMessage.due_at)).where(
            MarketingMessage.state == MessageState.PENDING
        )
    )
    return due


@dataclass(frozen=True)
class Claimed:
    id: int
    message_id: str
    destination: str
    body: dict[str, Any]
    attempts: int
    first_due_at: datetime


async def claim(
    session: AsyncSession, *, now: datetime, lease: timedelta, worker: str, limit: int
) -> list[Claimed]:
    """Claim up to ``limit`` due messages, oldest first (``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL; on SQLite the claim is the one write transaction)."""
    m = MarketingMessage
    query = (
        select(m.id, m.message_id, m.destination, m.body, m.attempts, m.first_due_at)
        .where(_due(now))
        .order_by(m.due_at, m.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = [Claimed(*row) for row in await session.execute(query)]
    if claimed:
        await session.execute(
            update(m)
            .where(m.id.in_([c.id for c in claimed]))
            .values(state=MessageState.SENDING, lease_until=now + lease, claimed_by=worker)
        )
    return claimed


async def still_claimed(session: AsyncSession, ids: Sequence[int], worker: str) -> set[int]:
    """Those of ``ids`` still being sent by ``worker`` (locked on PostgreSQL until commit)."""
    if not ids:
        return set()
    m = MarketingMessage
    query = (
        select(m.id)
        .where(m.id.in_(list(ids)), m.state == MessageState.SENDING, m.claimed_by == worker)
        .order_by(m.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return set(await session.scalars(query))


async def record(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Write each message's outcome (``b_id``, ``state``, ``attempts``, ``due_at``,
    ``status``, ``error``, ``sent_at``) in one executemany, releasing its claim."""
    if not rows:
        return
    t = cast(Table, MarketingMessage.__table__)
    await session.execute(
        update(t)
        .where(t.c.id == bindparam("b_id"))
        .values(
            state=bindparam("state"),
            attempts=bindparam("attempts"),
            due_at=bindparam("due_at"),
            last_status_code=bindparam("status"),
            last_error=bindparam("error"),
            sent_at=bindparam("sent_at"),
            lease_until=None,
            claimed_by=None,
        ),
        sorted(rows, key=lambda r: int(r["b_id"])),
    )


async def state_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(MarketingMessage.state, func.count()).group_by(MarketingMessage.state)
    )
    return {state: count for state, count in rows}


async def messages(
    session: AsyncSession, *, state: MessageState | None, before_id: int | None, limit: int
) -> list[MarketingMessage]:
    """Messages newest first, ``limit`` at a time (keyset on the id)."""
    query = select(MarketingMessage)
    if state is not None:
        query = query.where(MarketingMessage.state == state)
    if before_id is not None:
        query = query.where(MarketingMessage.id < before_id)
    rows = await session.scalars(query.order_by(MarketingMessage.id.desc()).limit(limit))
    return list(rows)


async def make_due(session: AsyncSession, *, now: datetime) -> int:
    """Bring every pending message forward to now (``marketing flush``); returns how many."""
    result = await session.execute(
        update(MarketingMessage)
        .where(MarketingMessage.state == MessageState.PENDING, MarketingMessage.due_at > now)
        .values(due_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def fire(
    session: AsyncSession,
    *,
    campaign_key: str,
    triggers: dict[uuid.UUID, uuid.UUID],
    cooldown: timedelta,
    now: datetime,
) -> list[uuid.UUID]:
    """Record that ``campaign_key`` fires now for each supplier of ``triggers`` (supplier →
    the event that triggered it), unless it fired for that supplier less than ``cooldown``
    ago; returns the suppliers it fired for.

    One atomic upsert: a concurrent consumer's firing of the same pair waits on the row
    (or the unique key) and then finds the cooldown running, so it cannot fire twice.
    """
    table = CampaignFiring.__table__
    fired: list[uuid.UUID] = []
    suppliers = sorted(triggers)  # one global lock order
    for start in range(0, len(suppliers), FIRE_CHUNK):
        rows = [
            {
                "campaign_key": campaign_key,
                "supplier_id": s,
                "fired_at": now,
                "firings": 1,
                "trigger_event_id": triggers[s],
            }
            for s in suppliers[start : start + FIRE_CHUNK]
        ]
        stmt = dialect_insert(session, CampaignFiring).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=["campaign_key", "supplier_id"],
            set_={
                "fired_at": stmt.excluded.fired_at,
                "firings": table.c.firings + 1,
                "trigger_event_id": stmt.excluded.trigger_event_id,
            },
            where=table.c.fired_at <= now - cooldown,
        ).returning(table.c.supplier_id)
        fired.extend(await session.scalars(stmt))
    return fired


# Read-only queries for the dashboard's Marketing page.


async def failing_messages(session: AsyncSession, *, limit: int) -> list[MarketingMessage]:
    """Messages that failed for good, and those waiting to retry after a failure, newest
    first: what an admin looks at first."""
    m = MarketingMessage
    query = (
        select(m)
        .where(
            or_(
                m.state == MessageState.FAILED,
                m.state.in_([MessageState.PENDING, MessageState.SENDING])
                & m.last_error.is_not(None),
            )
        )
        .order_by(m.id.desc())
        .limit(limit)
    )
    return list(await session.scalars(query))


@dataclass(frozen=True)
class CampaignFirings:
    """How often a campaign fired: suppliers it fired for, firings in all, the last one."""

    suppliers: int
    firings: int
    last_fired_at: datetime | None


async def firing_totals(session: AsyncSession) -> dict[str, CampaignFirings]:
    f = CampaignFiring
    rows = await session.execute(
        select(f.campaign_key, func.count(), func.sum(f.firings), func.max(f.fired_at)).group_by(
            f.campaign_key
        )
    )
    return {
        key: CampaignFirings(suppliers=int(n), firings=int(total or 0), last_fired_at=last)
        for key, n, total, last in rows
    }


async def recent_firings(session: AsyncSession, *, limit: int) -> list[CampaignFiring]:
    """The latest firing per (campaign, supplier), most recent first."""
    f = CampaignFiring
    rows = await session.scalars(
        select(f).order_by(f.fired_at.desc(), f.campaign_key, f.supplier_id).limit(limit)
    )
    return list(rows)
