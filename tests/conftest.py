"""Fixtures shared by every test: a migrated database per backend, a context, an API client.

Tests that take ``ctx`` run twice: on SQLite and on PostgreSQL. PostgreSQL tests skip with a
reason when no server answers, unless WEDSYNC_REQUIRE_SERVICES=1 (CI), where that fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine.url import make_url

from wedsync_success.access.service import create_key
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.db import migrate
from wedsync_success.db.registry import metadata
from wedsync_success.web.app import create_app

POSTGRES_ADMIN_URL = os.environ.get(
    "WEDSYNC_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("WEDSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("WEDSYNC_REQUIRE_SERVICES") == "1"
TEST_SECRET_KEY = "test-secret-key-for-signing-sessions-0123456789"


class FakeClock:
    """A clock tests move by hand; nothing in the code reads wall time directly."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def service_unavailable(reason: str) -> None:
    """Skip, or fail where services are required (CI)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (WEDSYNC_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run, dropped afterwards."""
    admin = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg")
    try:
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        service_unavailable(f"PostgreSQL not reachable at {admin.host}:{admin.port}: {exc}")
        return
    name = f"wedsync_test_{uuid.uuid4().hex[:12]}"
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the real Redis (skip-or-fail when none answers);
    its keys are deleted afterwards."""
    from redis import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as exc:
        service_unavailable(f"Redis not reachable at {REDIS_URL}: {exc}")
    prefix = f"wedsync-test:{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database URL, once per backend per test run."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "test.db"
        url = f"sqlite+aiosqlite:///{path}"
        migrate.upgrade(url)
        yield url
    else:
        yield from postgres_database()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 6, 15, 12, 0, tzinfo=UTC))


@pytest.fixture(scope="session", autouse=True)
def _a_model_registry_of_their_own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The tests' default churn registry is an empty folder of their own, never the
    ``var/models`` a demo run left in the checkout: its active model would answer where a
    test expects none (and servers the tests start inherit the variable)."""
    previous = os.environ.get("WEDSYNC_CHURN_REGISTRY")
    os.environ["WEDSYNC_CHURN_REGISTRY"] = str(tmp_path_factory.mktemp("models"))
    yield
    if previous is None:
        del os.environ["WEDSYNC_CHURN_REGISTRY"]
    else:
        os.environ["WEDSYNC_CHURN_REGISTRY"] = previous


@pytest.fixture
async def ctx(database_url: str, clock: FakeClock) -> AsyncIterator[AppContext]:
    """A context on an emptied database."""
    context = build_context(
        Settings(
            database_url=database_url,
            secret_key=TEST_SECRET_KEY,
            login_refusal_delay_seconds=0,  # guarded by its own test
        ),
        clock=clock,
    )
    async with context.db.transaction() as session:
        for table in reversed(metadata.sorted_tables):
            await session.execute(table.delete())
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture
async def api_keys(ctx: AppContext) -> dict[str, str]:
    """Secrets of one key per scope."""
    keys = {}
    async with ctx.db.transaction() as session:
        for scope in ("ingest", "read", "act", "inapp", "admin"):
            issued = await create_key(session=session, name=scope, scopes=[scope], now=ctx.clock())
            keys[scope] = issued.secret
    return keys


@pytest.fixture
async def client(ctx: AppContext, api_keys: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app, authenticated as admin unless a test overrides the header."""
    app = create_app(context=ctx, run_dispatcher=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://test",
        headers={"Authorization": f"Bearer {api_keys['admin']}"},
    ) as http:
        yield http
