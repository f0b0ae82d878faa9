"""The unit of work retries a whole transaction the database refused for contention, and
answers 503 with Retry-After when it stays refused; real locks, on both backends."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import FakeClock
from tests.factories import event, supplier
from wedsync_success.activity.models import ActivityEvent
from wedsync_success.context import AppContext
from wedsync_success.db import Database, create_database
from wedsync_success.db.locks import supplier_key
from wedsync_success.db.unit_of_work import RETRIES, UnitOfWork
from wedsync_success.kit.errors import ServiceUnavailable
from wedsync_success.suppliers.models import Supplier
from wedsync_success.web.app import create_app


def _contended_database(ctx: AppContext) -> Database:
    """The same database, giving up on a lock after 50 ms (instead of waiting long)."""
    url = ctx.settings.database_url
    if ctx.db.dialect == "sqlite":
        return create_database(url, sqlite_busy_timeout_ms=50)
    return create_database(url, connect_args={"server_settings": {"lock_timeout": "50"}})


@asynccontextmanager
async def _sqlite_writer(ctx: AppContext) -> AsyncIterator[sqlite3.Connection]:
    """Another process's write transaction on the SQLite file, holding its write lock."""
    path = make_url(ctx.settings.database_url).database
    assert path
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()


def _retries(reason: str) -> float:
    return RETRIES.labels(reason=reason)._value.get()


async def _add_supplier(
    session: AsyncSession, clock: FakeClock, sid: uuid.UUID | None = None
) -> uuid.UUID:
    sid = sid or uuid.uuid4()
    session.add(
        Supplier(
            id=sid,
            business_name="Retry & Co",
            vendor_type="florist",
            country="GB",
            signed_up_at=clock.now,
            plan_tier="starter",
            subscription_status="active",
            subscription_started_at=clock.now,
            created_at=clock.now,
        )
    )
    await session.flush()
    return sid


async def _suppliers(ctx: AppContext) -> int:
    async with ctx.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Supplier)) or 0)


async def test_a_deadlock_is_retried_and_the_retry_commits(
    ctx: AppContext, clock: FakeClock
) -> None:
    """PostgreSQL: a real deadlock with a second connection; this unit of work is the
    victim (its deadlock check fires first), rolls back, and its second run commits."""
    if ctx.db.dialect != "postgresql":
        pytest.skip("SQLite has no deadlocks: one writer at a time")
    mine_held, theirs_held = asyncio.Event(), asyncio.Event()
    attempts: list[int] = []

    async def theirs() -> None:
        async with ctx.db.sessions() as session, session.begin():
            await session.execute(text("SET LOCAL deadlock_timeout = '60s'"))
            await session.execute(text("SELECT pg_advisory_xact_lock(9002)"))
            theirs_held.set()
            await mine_held.wait()
            await session.execute(text("SELECT pg_advisory_xact_lock(9001)"))

    other = asyncio.create_task(theirs())

    async def work(session: AsyncSession) -> uuid.UUID:
        attempts.append(len(attempts) + 1)
        await session.execute(text("SET LOCAL deadlock_timeout = '50ms'"))
        await session.execute(text("SELECT pg_advisory_xact_lock(9001)"))
        sid = await _add_supplier(session, clock)
        if len(attempts) == 1:
            mine_held.set()
            await theirs_held.wait()
        await session.execute(text("SELECT pg_advisory_xact_lock(9002)"))
        return sid

    async def after_their_commit(_: float) -> None:
        await other

    committed: list[bool] = []
    before = _retries("40P01")
    uow = UnitOfWork(ctx.db, sleep=after_their_commit, after_commit=lambda: committed.append(True))
    await asyncio.wait_for(uow.run(work), timeout=60)
    assert attempts == [1, 2]
    assert _retries("40P01") - before == 1
    assert committed == [True]  # woken once, after the commit that counted
    assert await _suppliers(ctx) == 1  # the first attempt's row was rolled back


async def test_a_busy_sqlite_database_is_retried_and_the_retry_commits(
    ctx: AppContext, clock: FakeClock
) -> None:
    """SQLite: another writer holds the lock past the busy timeout (the first attempt fails
    at BEGIN IMMEDIATE, before the work runs); once it is gone, the rerun commits."""
    if ctx.db.dialect != "sqlite":
        pytest.skip("SQLite's busy lock")
    db = _contended_database(ctx)
    attempts: list[int] = []

    async def work(session: AsyncSession) -> uuid.UUID:
        attempts.append(len(attempts) + 1)
        return await _add_supplier(session, clock)

    before = _retries("sqlite_busy")
    try:
        async with _sqlite_writer(ctx) as writer:

            async def after_the_writer_is_done(_: float) -> None:
                writer.execute("COMMIT")

            await UnitOfWork(db, sleep=after_the_writer_is_done).run(work)
    finally:
        await db.dispose()
    assert attempts == [1]
    assert _retries("sqlite_busy") - before == 1
    assert await _suppliers(ctx) == 1


async def test_other_errors_are_not_retried(ctx: AppContext, clock: FakeClock) -> None:
    attempts: list[int] = []
    async with ctx.db.transaction() as session:
        taken = await _add_supplier(session, clock)

    async def work(session: AsyncSession) -> None:
        attempts.append(1)
        await _add_supplier(session, clock, taken)  # the id exists: not contention

    with pytest.raises(IntegrityError):
        await UnitOfWork(ctx.db).run(work)
    assert attempts == [1]
    assert await _suppliers(ctx) == 1


@asynccontextmanager
async def _holding_supplier(ctx: AppContext, sid: str) -> AsyncIterator[None]:
    """Another writer of supplier ``sid`` that does not finish within the block."""
    if ctx.db.dialect == "sqlite":
        async with _sqlite_writer(ctx):
            yield
        return
    async with ctx.db.sessions() as session, session.begin():
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:k)"), {"k": supplier_key(uuid.UUID(sid))}
        )
        yield


async def test_contention_that_outlasts_the_retries_is_a_503_with_retry_after(
    ctx: AppContext, clock: FakeClock, api_keys: dict[str, str]
) -> None:
    contended = dataclasses.replace(ctx, db=_contended_database(ctx))
    app = create_app(context=contended, run_dispatcher=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {api_keys['admin']}"},
    ) as http:
        body = supplier()
        assert (await http.post("/api/v1/suppliers", json={"suppliers": [body]})).status_code == 200
        sid = str(body["id"])
        batch = [event(sid, "login", clock.now - timedelta(hours=h)) for h in range(5)]
        try:
            async with _holding_supplier(ctx, sid):
                refused = await http.post("/api/v1/events", json={"events": batch})
        finally:
            await contended.db.dispose()
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "service_unavailable"
    async with ctx.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ActivityEvent)) == 0


async def test_exhausted_retries_raise_service_unavailable(
    ctx: AppContext, clock: FakeClock
) -> None:
    db = _contended_database(ctx)
    attempts: list[int] = []

    async def work(session: AsyncSession) -> None:
        attempts.append(1)
        await _add_supplier(session, clock)
        await session.execute(text("SELECT pg_advisory_xact_lock(9003)"))

    async def no_pause(_: float) -> None:
        return None

    try:
        async with _holding(ctx):
            with pytest.raises(ServiceUnavailable) as refused:
                await UnitOfWork(db, attempts=3, sleep=no_pause).run(work)
    finally:
        await db.dispose()
    # PostgreSQL: each run waits at the lock until lock_timeout; SQLite: at BEGIN IMMEDIATE.
    assert attempts == ([1, 1, 1] if ctx.db.dialect == "postgresql" else [])
    assert refused.value.retry_after_seconds == 1
    assert await _suppliers(ctx) == 0


@asynccontextmanager
async def _holding(ctx: AppContext) -> AsyncIterator[None]:
    """The lock the work above needs, held by another connection for the whole block."""
    if ctx.db.dialect == "sqlite":
        async with _sqlite_writer(ctx):
            yield
        return
    async with ctx.db.sessions() as session, session.begin():
        await session.execute(text("SELECT pg_advisory_xact_lock(9003)"))
        yield


async def test_no_free_connection_is_a_503_not_a_500(
    ctx: AppContext, api_keys: dict[str, str]
) -> None:
    """Every pooled connection busy past the pool timeout: overloaded, so 503 Retry-After."""
    one = create_database(ctx.settings.database_url, pool_size=1, max_overflow=0, pool_timeout=0.05)
    app = create_app(context=dataclasses.replace(ctx, db=one), run_dispatcher=False)
    try:
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://test",
                headers={"Authorization": f"Bearer {api_keys['admin']}"},
            ) as http,
            one.engine.connect() as taken,
        ):
            await taken.execute(text("SELECT 1"))
            refused = await http.get("/api/v1/suppliers")
    finally:
        await one.dispose()
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "service_unavailable"
