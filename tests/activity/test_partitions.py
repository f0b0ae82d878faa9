"""Raw events by month: on PostgreSQL each month's events land in their own partition,
created as they arrive, and an ``event_id`` is stored once across every partition, even when
its copies name different months, in one batch, in two, or in two at the same time."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.activity.test_event_store import _suppliers
from wedsync_success.activity import repository
from wedsync_success.activity.models import ActivityEvent
from wedsync_success.context import AppContext

JAN = datetime(2025, 1, 20, 10, 0, tzinfo=UTC)
MAR = datetime(2025, 3, 2, 8, 30, tzinfo=UTC)


def _postgres(ctx: AppContext) -> bool:
    return ctx.settings.database_url.startswith("postgresql")


def _columns(events: list[tuple[str, uuid.UUID, datetime]]) -> dict[str, list[Any]]:
    return {
        "event_id": [e[0] for e in events],
        "supplier_id": [e[1] for e in events],
        "user_id": [None] * len(events),
        "event_type": ["login"] * len(events),
        "occurred_at": [e[2] for e in events],
        "value": [None] * len(events),
        "properties": [{}] * len(events),
    }


async def _insert(session: AsyncSession, events: list[tuple[str, uuid.UUID, datetime]]) -> int:
    batch = await repository.open_batch(session, now=datetime.now(UTC))
    await repository.insert_event_columns(session, _columns(events), batch_id=batch)
    return await repository.batch_size(session, batch)


async def _stored(ctx: AppContext) -> list[tuple[str, datetime]]:
    async with ctx.db.sessions() as session:
        rows = await session.execute(
            select(ActivityEvent.event_id, ActivityEvent.occurred_at).order_by(
                ActivityEvent.event_id
            )
        )
        return [(event_id, at) for event_id, at in rows]


async def test_each_month_lands_in_its_own_partition(ctx: AppContext) -> None:
    if not _postgres(ctx):
        pytest.skip("SQLite keeps one table")
    supplier = uuid.UUID((await _suppliers(ctx, 1))[0])
    april = datetime(2031, 4, 30, 23, 59, 59, tzinfo=UTC)  # a month no other test uses
    async with ctx.db.transaction() as session:
        stored = await _insert(
            session, [("p-1", supplier, JAN), ("p-2", supplier, MAR), ("p-3", supplier, april)]
        )
    assert stored == 3
    async with ctx.db.sessions() as session:
        rows = await session.execute(
            text("SELECT event_id, tableoid::regclass::text FROM activity_events ORDER BY 1")
        )
        where = dict(rows.all())
        months = await repository.month_partitions(session)
    assert where == {
        "p-1": "activity_events_y2025m01",
        "p-2": "activity_events_y2025m03",
        "p-3": "activity_events_y2031m04",
    }
    assert months[datetime(2031, 4, 1, tzinfo=UTC)] == "activity_events_y2031m04"
    # Created once: a second batch in the same month finds it.
    async with ctx.db.transaction() as session:
        assert await repository.ensure_month_partitions(session, [april]) == []


async def test_an_event_id_is_stored_once_whatever_month_its_copies_name(
    ctx: AppContext,
) -> None:
    supplier = uuid.UUID((await _suppliers(ctx, 1))[0])
    async with ctx.db.transaction() as session:  # two copies in one batch
        assert await _insert(session, [("d-1", supplier, JAN), ("d-1", supplier, MAR)]) == 1
    async with ctx.db.transaction() as session:  # and again, later, in another month
        assert await _insert(session, [("d-1", supplier, MAR), ("d-2", supplier, MAR)]) == 1
    assert await _stored(ctx) == [("d-1", JAN), ("d-2", MAR)]


async def _until_blocked_or_done(ctx: AppContext, task: asyncio.Task[Any]) -> bool:
    """Whether a connection to this database waits on an advisory lock, looked at until one
    does or ``task`` finished (each look its own transaction: one statistics snapshot each)."""
    waiting = text(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE NOT l.granted AND l.locktype = 'advisory' AND a.datname = current_database()"
    )
    while not task.done():
        async with ctx.db.engine.connect() as conn:
            if await conn.scalar(waiting):
                return True
        await asyncio.sleep(0)  # let the task run; the condition decides, never a delay
    return False


async def test_concurrent_copies_in_different_months_are_stored_once(ctx: AppContext) -> None:
    if not _postgres(ctx):
        pytest.skip("SQLite has one writer at a time")
    first, second = (uuid.UUID(s) for s in await _suppliers(ctx, 2))  # no supplier lock shared
    async with ctx.db.transaction() as session:  # the type and months known: the writers
        await repository.type_codes(session, ["login"])  # share no row, no partition to make
        await repository.ensure_month_partitions(session, [JAN, MAR])
    async with ctx.db.transaction() as one:
        assert await _insert(one, [("c-1", first, JAN)]) == 1
        # The other writer, copying c-1 into March, waits for this one's id bucket...
        other = asyncio.create_task(_in_own_transaction(ctx, [("c-1", second, MAR)]))
        assert await _until_blocked_or_done(ctx, other)
    # ...and, once it committed, finds the id stored and stores nothing.
    assert await asyncio.wait_for(other, timeout=30) == 0
    assert await _stored(ctx) == [("c-1", JAN)]


async def _in_own_transaction(
    ctx: AppContext, events: list[tuple[str, uuid.UUID, datetime]]
) -> int:
    async with ctx.db.transaction() as session:
        return await _insert(session, events)


async def test_many_concurrent_writers_of_overlapping_ids_store_each_once(
    ctx: AppContext,
) -> None:
    suppliers = [uuid.UUID(s) for s in await _suppliers(ctx, 4)]
    # Four writers; each writes ids 0-29, each id in a month of its own choosing.
    writers = [
        [(f"m-{n}", suppliers[w], JAN + timedelta(days=(n * 7 + w * 31) % 120)) for n in range(30)]
        for w in range(4)
    ]
    stored = await asyncio.gather(*(_in_own_transaction(ctx, events) for events in writers))
    assert sum(stored) == 30
    rows = await _stored(ctx)
    assert sorted(event_id for event_id, _ in rows) == sorted(f"m-{n}" for n in range(30))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batches=st.lists(
        st.lists(
            st.tuples(
                st.sampled_from(["a", "b", "c", "é", "x" * 128, "0", "a b"]),
                st.integers(min_value=-400, max_value=400),
            ),
            min_size=1,
            max_size=12,
        ),
        min_size=1,
        max_size=4,
    )
)
async def test_any_mix_of_ids_and_months_stores_each_id_once(
    ctx: AppContext, batches: list[list[tuple[str, int]]]
) -> None:
    supplier = uuid.UUID((await _suppliers(ctx, 1))[0])
    async with ctx.db.transaction() as session:
        await session.execute(ActivityEvent.__table__.delete())
    total = 0
    for batch in batches:
        async with ctx.db.transaction() as session:
            total += await _insert(
                session, [(i, supplier, MAR + timedelta(days=d)) for i, d in batch]
            )
    ids = {i for batch in batches for i, _ in batch}
    assert total == len(ids)
    async with ctx.db.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(ActivityEvent))
    assert count == len(ids)
