"""Two evaluations at once: each change is made, and announced, once.

On PostgreSQL an evaluation takes its segments' advisory locks first, so a second one waits
for the first to commit and then finds its members already in; SQLite has one writer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.helpers import create_supplier
from wedsync_success.context import AppContext
from wedsync_success.events.models import OutboxEvent
from wedsync_success.segments import service
from wedsync_success.segments.models import SegmentMembership

QUIET = {
    "key": "quiet",
    "name": "Quiet",
    "rules": {"all": [{"field": "activity.login", "op": "eq", "value": 0, "days": 7}]},
}


@asynccontextmanager
async def _transaction(ctx: AppContext) -> AsyncIterator[AsyncSession]:
    """A write transaction as every writer opens one (BEGIN IMMEDIATE on SQLite)."""
    async with ctx.db.transaction() as session:
        yield session


async def _entered(ctx: AppContext) -> int:
    async with ctx.db.sessions() as session:
        found = await session.scalar(
            select(func.count()).where(OutboxEvent.event_type == "segment.entered")
        )
        return int(found or 0)


async def _members(ctx: AppContext) -> int:
    async with ctx.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(SegmentMembership)) or 0)


async def _waiting_advisory_locks(ctx: AppContext) -> int:
    async with ctx.db.engine.connect() as conn:
        found = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
    return int(found or 0)


async def _seed(client: httpx.AsyncClient, ctx: AppContext) -> None:
    """Suppliers in the file's segments, with their memberships wiped so an evaluation has
    everything to do again (and the events of the seeding counted out)."""
    for vendor in ("photographer", "photographer", "venue"):
        await create_supplier(client, vendor_type=vendor)
    async with _transaction(ctx) as session:
        await session.execute(SegmentMembership.__table__.delete())
        await session.execute(OutboxEvent.__table__.delete())


async def test_an_evaluation_waits_for_one_in_progress_and_adds_nothing_twice(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await _seed(client, ctx)
    if ctx.db.dialect != "postgresql":
        # SQLite: the second writer waits at BEGIN IMMEDIATE; run both at once.
        async def evaluate() -> None:
            async with _transaction(ctx) as session:
                await service.evaluate(session=session, catalog=ctx.segments, now=ctx.clock())

        await asyncio.gather(evaluate(), evaluate())
    else:
        async with _transaction(ctx) as first:
            done = await service.evaluate(session=first, catalog=ctx.segments, now=ctx.clock())
            assert sum(e.entered for e in done) == sum(e.members for e in done) > 0

            async def second() -> int:
                async with _transaction(ctx) as session:
                    again = await service.evaluate(
                        session=session, catalog=ctx.segments, now=ctx.clock()
                    )
                    return sum(e.entered for e in again)

            waiting = asyncio.create_task(second())
            for _ in range(2000):  # until the second waits at a segment lock
                if await _waiting_advisory_locks(ctx) >= 1:
                    break
                await asyncio.sleep(0.005)
            else:
                raise AssertionError("the second evaluation never waited for the first")
            assert not waiting.done()
        assert await waiting == 0  # it ran after the first committed, and found them in
    assert await _members(ctx) == await _entered(ctx) > 0


async def test_two_creates_of_one_key_at_once_store_one_segment(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    for _ in range(3):
        await create_supplier(client)
    before = await _entered(ctx)
    answers = await asyncio.gather(*(client.post("/api/v1/segments", json=QUIET) for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [201, 422]
    refused = next(a for a in answers if a.status_code == 422)
    assert refused.json()["error"]["details"] == [{"field": "key", "reason": "already exists"}]
    assert await _entered(ctx) - before == 3
