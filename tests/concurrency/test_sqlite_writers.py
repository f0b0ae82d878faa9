"""SQLite: writers in several processes at once wait for each other instead of failing.

Each ``Database`` here stands for another process on the same file (its own pool and its own
in-process turn-taking). Every unit of work reads before it writes (ingest looks the
suppliers up first) and gets a single attempt, so a transaction begun the driver's default
way (deferred) would fail at once with SQLITE_BUSY when another writer committed between its
read and its first write; ``BEGIN IMMEDIATE`` makes it wait for its turn instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import FakeClock
from tests.factories import event, supplier
from wedsync_success.activity.models import ActivityEvent, DailyRollup
from wedsync_success.context import AppContext
from wedsync_success.db import create_database
from wedsync_success.db.unit_of_work import UnitOfWork
from wedsync_success.pipeline import ingest
from wedsync_success.suppliers.service import upsert_batch

PROCESSES, BATCHES_EACH, EVENTS = 6, 4, 200


async def test_writers_in_many_processes_wait_instead_of_failing(
    ctx: AppContext, clock: FakeClock
) -> None:
    if ctx.db.dialect != "sqlite":
        pytest.skip("SQLite's single writer")
    signed_up = (clock.now - timedelta(days=90)).isoformat()
    async with ctx.db.transaction() as session:
        result = await upsert_batch(
            session=session,
            items=[supplier(signed_up_at=signed_up) for _ in range(8)],
            now=clock.now,
        )
    ids = [str(i) for i in result.ids]
    databases = [create_database(ctx.settings.database_url) for _ in range(PROCESSES)]

    async def producer(p: int) -> int:
        process = dataclasses.replace(ctx, db=databases[p])
        accepted = 0
        for _ in range(BATCHES_EACH):
            items = [
                event(ids[(p + i) % len(ids)], "login", clock.now - timedelta(hours=i % 48))
                for i in range(EVENTS)
            ]
            stored = await UnitOfWork(process.db, attempts=1).run(
                lambda session, items=items: ingest(session=session, ctx=process, items=items)
            )
            accepted += stored.accepted
        return accepted

    try:
        accepted = await asyncio.gather(*(producer(p) for p in range(PROCESSES)))
    finally:
        for db in databases:
            await db.dispose()
    total = PROCESSES * BATCHES_EACH * EVENTS
    assert sum(accepted) == total
    async with ctx.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ActivityEvent)) == total
        assert await session.scalar(select(func.sum(DailyRollup.count))) == total
