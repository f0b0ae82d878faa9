"""The staging-table helper on both backends: one table per connection, emptied before each
use, private to its connection, values landing in the stored form of their target table."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity.models import ActivityEvent
from wedsync_success.context import AppContext
from wedsync_success.db.staging import StagingTable, stage

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TABLE = StagingTable(
    "test_staging",
    {
        "n": ("integer NOT NULL", "INTEGER NOT NULL"),
        "supplier_id": ("uuid NOT NULL", "CHAR(32) NOT NULL"),
        "occurred_at": ("timestamptz NOT NULL", "TEXT NOT NULL"),
        "note": ("text", "TEXT"),
    },
    index=("supplier_id",),
)
_EVENTS: Any = ActivityEvent.__table__


def _columns(ns: range, note: str | None = None) -> dict[str, list[Any]]:
    return {
        "n": list(ns),
        "supplier_id": [uuid.UUID(int=n + 1) for n in ns],
        "occurred_at": [T0 + timedelta(seconds=n) for n in ns],
        "note": [note] * len(ns),
    }


async def _staged(session: AsyncSession) -> list[tuple[Any, ...]]:
    rows = await session.execute(text(f"SELECT n, note FROM {TABLE.name} ORDER BY n"))
    return [tuple(row) for row in rows]


async def test_each_use_replaces_the_rows_of_the_one_before(ctx: AppContext) -> None:
    async with ctx.db.transaction() as session:
        await stage(session, TABLE, _columns(range(5), "a"), stored_as=_EVENTS)
        assert await _staged(session) == [(n, "a") for n in range(5)]
        await stage(session, TABLE, _columns(range(3, 6), "b"), stored_as=_EVENTS)
        assert await _staged(session) == [(n, "b") for n in range(3, 6)]


async def test_values_land_in_the_stored_form_of_the_target_table(ctx: AppContext) -> None:
    """Staged rows compare equal to stored ones (SQLite: ids as hex, instants as text)."""
    async with ctx.db.transaction() as session:
        await stage(session, TABLE, _columns(range(2)), stored_as=_EVENTS)
        found = await session.execute(
            text(f"SELECT supplier_id, occurred_at FROM {TABLE.name} ORDER BY n")
        )
        rows = [tuple(row) for row in found]
    if ctx.db.dialect == "postgresql":
        assert rows == [(uuid.UUID(int=1), T0), (uuid.UUID(int=2), T0 + timedelta(seconds=1))]
    else:
        assert rows[0][0] == uuid.UUID(int=1).hex
        assert rows[0][1].startswith("2026-06-01 12:00:00")


async def test_the_table_stays_with_its_connection_and_survives_a_rollback(
    ctx: AppContext,
) -> None:
    """Created once per connection, emptied before use (and at commit on PostgreSQL); a
    creation rolled back with its transaction is made again by the next use."""
    async with ctx.db.engine.connect() as connection:
        session = AsyncSession(bind=connection)
        async with session.begin():
            await stage(session, TABLE, _columns(range(4)), stored_as=_EVENTS)
            await session.rollback()
        async with session.begin():
            await stage(session, TABLE, _columns(range(2)), stored_as=_EVENTS)
        async with session.begin():
            left = await session.scalar(text(f"SELECT count(*) FROM {TABLE.name}"))
            assert left == (0 if ctx.db.dialect == "postgresql" else 2)
            await stage(session, TABLE, _columns(range(1)), stored_as=_EVENTS)
            assert await _staged(session) == [(0, None)]
        await session.close()


async def test_concurrent_connections_see_only_their_own_rows(ctx: AppContext) -> None:
    async def fill(ns: range, note: str) -> list[tuple[Any, ...]]:
        async with ctx.db.engine.connect() as connection:
            session = AsyncSession(bind=connection)
            async with session.begin():
                await stage(session, TABLE, _columns(ns, note), stored_as=_EVENTS)
                await asyncio.sleep(0.05)  # the other connection stages meanwhile
                rows = await _staged(session)
            await session.close()
            return rows

    if ctx.db.dialect == "sqlite":  # one writer at a time: the temporary tables still differ
        first = await fill(range(3), "x")
        second = await fill(range(10, 12), "y")
    else:
        first, second = await asyncio.gather(fill(range(3), "x"), fill(range(10, 12), "y"))
    assert first == [(n, "x") for n in range(3)]
    assert second == [(n, "y") for n in range(10, 12)]


# Storable text: validation refuses NUL and lone surrogates before anything is staged.
STORABLE = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(notes=st.lists(st.text(alphabet=STORABLE), max_size=8))
async def test_any_text_round_trips(ctx: AppContext, notes: list[str]) -> None:
    """Quotes, separators, newlines and any unicode go through COPY and executemany as is."""
    columns = {**_columns(range(len(notes))), "note": notes}
    async with ctx.db.transaction() as session:
        await stage(session, TABLE, columns, stored_as=_EVENTS)
        assert await _staged(session) == list(enumerate(notes))


async def test_a_row_the_table_refuses_fails_as_a_statement_would(ctx: AppContext) -> None:
    """A NULL in a NOT NULL column: the COPY's failure is SQLAlchemy's IntegrityError on
    PostgreSQL (as the retries and callers expect of any statement), and SQLite's own."""
    columns = _columns(range(3))
    columns["n"][1] = None
    with pytest.raises(IntegrityError):
        async with ctx.db.transaction() as session:
            await stage(session, TABLE, columns, stored_as=_EVENTS)
