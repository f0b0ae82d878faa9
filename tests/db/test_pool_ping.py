"""The pool checks a PostgreSQL connection before handing it out, in one round trip: a
connection the server dropped is replaced, and a live one costs one ``;`` rather than
SQLAlchemy's ``BEGIN; ; ROLLBACK`` (which every transaction paid before its first statement)."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine.url import make_url

from tests.conftest import postgres_database
from wedsync_success.db import create_database


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    yield from postgres_database()


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def test_a_checkout_pings_once(postgres_url: str) -> None:
    db = create_database(postgres_url, pool_size=1, max_overflow=0)
    try:
        async with db.engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            seen: list[str] = []
            raw.add_query_logger(lambda record: seen.append(record.query))
            await conn.commit()
        async with db.engine.connect() as conn:  # the same pooled connection, checked out again
            assert await conn.scalar(text("SELECT 1")) == 1
            await conn.commit()
        assert seen[0] == ";"
        assert "ROLLBACK;" not in seen
    finally:
        await db.dispose()


async def test_a_dropped_connection_is_replaced_on_checkout(postgres_url: str) -> None:
    db = create_database(postgres_url, pool_size=1, max_overflow=0)
    try:
        async with db.engine.connect() as conn:
            pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        admin = await asyncpg.connect(_asyncpg_dsn(postgres_url))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1, 10000)", pid)
        finally:
            await admin.close()
        # pg_terminate_backend waited (up to 10 s) for the backend to exit
        async with db.engine.connect() as conn:  # no error: the dead one was replaced
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        await db.dispose()
