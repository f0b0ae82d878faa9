"""PostgreSQL: writers of a common supplier take turns, writers of others do not wait, and
a full rescore waits for (and holds off) every supplier writer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.context import AppContext
from wedsync_success.db.locks import MAX_SUPPLIER_LOCKS, lock_population, lock_suppliers


@pytest.fixture(autouse=True)
def _postgres_only(ctx: AppContext) -> None:
    if ctx.db.dialect != "postgresql":
        pytest.skip("SQLite serialises every writer with BEGIN IMMEDIATE")


@asynccontextmanager
async def _transaction(ctx: AppContext) -> AsyncIterator[AsyncSession]:
    async with ctx.db.sessions() as session, session.begin():
        yield session


async def _waiting_advisory_locks(ctx: AppContext) -> int:
    async with ctx.db.engine.connect() as conn:
        found = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
    return int(found or 0)


async def _until_waiting(ctx: AppContext, count: int) -> None:
    """Wait until ``count`` advisory lock requests are queued (a condition, not a delay)."""
    for _ in range(2000):
        if await _waiting_advisory_locks(ctx) >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never saw {count} waiting advisory locks")


async def test_writers_of_a_common_supplier_take_turns(ctx: AppContext) -> None:
    a, b, c, d = (uuid.uuid4() for _ in range(4))
    order: list[str] = []

    async def writer(name: str, suppliers: list[uuid.UUID]) -> None:
        async with _transaction(ctx) as session:
            await lock_suppliers(session, suppliers)
            order.append(name)

    async with _transaction(ctx) as first:
        await lock_suppliers(first, [a, b])
        sharing = asyncio.create_task(writer("sharing b", [c, b]))
        await _until_waiting(ctx, 1)
        await asyncio.wait_for(
            writer("distinct", [d]), timeout=60
        )  # d is nobody's: no wait behind the holder of a and b
        assert order == ["distinct"]
        assert not sharing.done()
        order.append("first commits")
    await asyncio.wait_for(sharing, timeout=60)
    assert order == ["distinct", "first commits", "sharing b"]


async def test_a_full_rescore_and_supplier_writers_exclude_each_other(ctx: AppContext) -> None:
    order: list[str] = []

    async def rescore() -> None:
        async with _transaction(ctx) as session:
            await lock_population(session)
            order.append("rescore")

    async def big_batch() -> None:  # too many suppliers to lock one by one
        async with _transaction(ctx) as session:
            await lock_suppliers(session, [uuid.uuid4() for _ in range(MAX_SUPPLIER_LOCKS + 1)])
            order.append("big batch")

    async with _transaction(ctx) as writer:
        await lock_suppliers(writer, [uuid.uuid4()])
        waiting = asyncio.create_task(rescore())
        await _until_waiting(ctx, 1)
        order.append("writer commits")
    await asyncio.wait_for(waiting, timeout=60)
    async with _transaction(ctx) as full:
        await lock_population(full)
        batch = asyncio.create_task(big_batch())
        await _until_waiting(ctx, 1)
        order.append("rescore commits")
    await asyncio.wait_for(batch, timeout=60)
    assert order == ["writer commits", "rescore", "rescore commits", "big batch"]
