"""``lock_suppliers`` consumes its keys lazily: none on SQLite (which takes no lock), and on
PostgreSQL only up to the first key past ``MAX_SUPPLIER_LOCKS``, where the population lock
stands for them all. Imports rely on it to compute external-id keys only when they count."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.context import AppContext
from wedsync_success.db.locks import MAX_SUPPLIER_LOCKS, POPULATION_KEY, lock_suppliers


def _counted(drawn: list[uuid.UUID], limit: int | None = None) -> Iterator[uuid.UUID]:
    """Fresh ids, each recorded in ``drawn`` as it is drawn (endless unless ``limit``)."""
    while limit is None or len(drawn) < limit:
        drawn.append(uuid.uuid4())
        yield drawn[-1]


async def _population_mode(session: AsyncSession) -> str | None:
    """The mode in which this session holds the population lock (None: not held)."""
    row = await session.execute(
        text(
            "SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            " AND ((classid::bigint << 32) | objid::bigint) = :k"
        ),
        {"k": POPULATION_KEY},
    )
    return row.scalar()


async def test_many_keys_stop_at_the_population_lock(ctx: AppContext) -> None:
    drawn: list[uuid.UUID] = []
    async with ctx.db.sessions() as session, session.begin():
        await lock_suppliers(session, _counted(drawn))  # endless: must stop by itself
        if ctx.db.dialect == "postgresql":
            assert len(drawn) == MAX_SUPPLIER_LOCKS + 1
            assert await _population_mode(session) == "ExclusiveLock"
        else:
            assert drawn == []


async def test_few_keys_are_each_locked_under_the_shared_population_lock(
    ctx: AppContext,
) -> None:
    drawn: list[uuid.UUID] = []
    async with ctx.db.sessions() as session, session.begin():
        await lock_suppliers(session, _counted(drawn, limit=MAX_SUPPLIER_LOCKS))
        if ctx.db.dialect != "postgresql":
            assert drawn == []
            return
        assert len(drawn) == MAX_SUPPLIER_LOCKS
        assert await _population_mode(session) == "ShareLock"
        held = await session.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                " AND pid = pg_backend_pid() AND mode = 'ExclusiveLock'"
            )
        )
        assert held == MAX_SUPPLIER_LOCKS
