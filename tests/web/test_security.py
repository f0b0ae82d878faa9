"""Security headers on every response, HSTS and secure cookies when configured, the secret key
refusal, and per-API-key rate limits."""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.conftest import FakeClock
from tests.web.signin import add_user, browser, log_in
from wedsync_success.access.ratelimit import ApiRateLimiter
from wedsync_success.cli import app as cli_app
from wedsync_success.config import Settings, demo_secret_key, get_settings
from wedsync_success.context import AppContext
from wedsync_success.kit.errors import ConfigError, RateLimited
from wedsync_success.web.app import create_app
from wedsync_success.web.security import STRICT_CSP, csp_for


def _assert_security_headers(response: httpx.Response, csp: str = STRICT_CSP) -> None:
    assert response.headers["content-security-policy"] == csp
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in STRICT_CSP
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/api/v1/suppliers", "/api/v1/nothing-here", "/login", "/", "/static/app.css"],
)
async def test_every_response_carries_the_security_headers(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    _assert_security_headers(response)
    assert "strict-transport-security" not in response.headers  # plain-HTTP cookies: no HSTS


async def test_a_path_can_have_its_own_policy() -> None:
    policies = {"/docs": "script-src 'self' 'sha256-abc'"}
    assert csp_for("/docs", policies) == policies["/docs"]
    assert csp_for("/docs/oauth2-redirect", policies) == policies["/docs"]
    assert csp_for("/docsearch", policies) == STRICT_CSP
    assert csp_for("/docs") == STRICT_CSP  # the API docs need no allowance today


async def test_secure_cookies_bring_hsts_and_the_secure_flag(ctx: AppContext) -> None:
    await add_user(ctx)
    plain = await _login_cookie(ctx)
    assert "secure" not in plain.lower()
    secure_ctx = dataclasses.replace(
        ctx, settings=ctx.settings.model_copy(update={"secure_cookies": True})
    )
    cookie = await _login_cookie(secure_ctx)
    assert "; secure" in cookie.lower()
    assert "httponly" in cookie.lower()
    async with browser(secure_ctx) as client:
        response = await client.get("/healthz")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


async def _login_cookie(ctx: AppContext) -> str:
    async with browser(ctx, "10.1.1.1", base_url="https://test") as client:
        response = await log_in(client)
    assert response.status_code == 303
    return response.headers["set-cookie"]


@pytest.mark.parametrize("key", [None, "too-short-a-key"])
def test_the_app_refuses_to_start_without_a_strong_secret_key(key: str | None) -> None:
    settings = Settings(database_url="sqlite+aiosqlite:///unused.db", secret_key=key)
    with pytest.raises(ConfigError, match="WEDSYNC_SECRET_KEY") as refused:
        create_app(settings)
    assert "at least 32 characters" in refused.value.message
    assert "secrets.token_urlsafe" in refused.value.message  # says how to make one


def test_serve_says_how_to_set_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEDSYNC_SECRET_KEY", "")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["serve", "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "WEDSYNC_SECRET_KEY is not set" in result.output


def test_the_demo_keeps_its_own_key(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret_key"
    key = demo_secret_key(path)
    assert len(key) >= 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert demo_secret_key(path) == key  # the same after a restart


@pytest.fixture
async def limited(ctx: AppContext, api_keys: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """An API client whose keys may make 3 requests a minute."""
    limited_ctx = dataclasses.replace(
        ctx, rate_limits=ApiRateLimiter(limit=3, window_seconds=60, db=ctx.db)
    )
    transport = httpx.ASGITransport(app=create_app(context=limited_ctx, run_dispatcher=False))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://test",
        headers={"Authorization": f"Bearer {api_keys['read']}"},
    ) as http:
        yield http


async def test_an_api_key_over_its_limit_gets_429(
    limited: httpx.AsyncClient, api_keys: dict[str, str], clock: FakeClock
) -> None:
    clock.now = clock.now.replace(second=30)  # half a minute left in this window
    for remaining in (2, 1, 0):
        response = await limited.get("/api/v1/suppliers")
        assert response.status_code == 200
        assert response.headers["ratelimit-limit"] == "3"
        assert response.headers["ratelimit-remaining"] == str(remaining)
        assert response.headers["ratelimit-reset"] == "30"
    refused = await limited.get("/api/v1/suppliers")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.headers["retry-after"] == "30"
    assert refused.headers["ratelimit-remaining"] == "0"
    _assert_security_headers(refused)
    other = await limited.get(
        "/api/v1/suppliers", headers={"Authorization": f"Bearer {api_keys['admin']}"}
    )
    assert other.status_code == 200  # limits are per key
    clock.advance(seconds=30)  # the next window
    assert (await limited.get("/api/v1/suppliers")).status_code == 200


async def test_rate_counts_are_shared_by_processes_on_postgresql(ctx: AppContext) -> None:
    """Two limiters stand for two API processes over one database; syncing every request."""
    import uuid

    key = uuid.uuid4()
    first, second = (
        ApiRateLimiter(limit=5, window_seconds=60, db=ctx.db, sync_seconds=0) for _ in range(2)
    )
    await first.hit(key, now=ctx.clock())
    await first.hit(key, now=ctx.clock())
    decision = await second.hit(key, now=ctx.clock())
    assert decision is not None
    # PostgreSQL: one count in the database; SQLite (one process by design): per process.
    assert decision.remaining == (2 if ctx.db.dialect == "postgresql" else 4)


async def test_a_process_adds_its_count_to_the_shared_one_once_a_second(ctx: AppContext) -> None:
    """Between syncs a process counts in memory: the other sees its requests up to its last
    sync, and all of them once it has synced again."""
    import uuid

    if ctx.db.dialect != "postgresql":
        pytest.skip("SQLite counts in the process: there is nothing shared to sync")
    key = uuid.uuid4()
    start = ctx.clock().replace(second=0, microsecond=0)
    first, second = (
        ApiRateLimiter(limit=100, window_seconds=60, db=ctx.db, sync_seconds=1) for _ in range(2)
    )
    for _ in range(3):  # the window's first request syncs, the next two stay in memory
        await first.hit(key, now=start)
    seen = await second.hit(key, now=start)
    assert seen is not None
    assert seen.remaining == 100 - 2
    await first.hit(key, now=start + timedelta(seconds=1))  # a second later: syncs all four
    seen = await second.hit(key, now=start + timedelta(seconds=1))
    assert seen is not None
    assert seen.remaining == 100 - 6


async def test_near_its_limit_a_process_asks_the_shared_count(ctx: AppContext) -> None:
    """The request that would reach the limit by this process's reckoning reads the shared
    count, so a key is refused on what every process counted, not on one process's view."""
    import uuid

    if ctx.db.dialect != "postgresql":
        pytest.skip("SQLite counts in the process: there is nothing shared to ask")
    key = uuid.uuid4()
    now = ctx.clock().replace(second=0, microsecond=0)
    first, second = (
        ApiRateLimiter(limit=4, window_seconds=60, db=ctx.db, sync_seconds=60) for _ in range(2)
    )
    await first.hit(key, now=now)  # synced: 1
    await second.hit(key, now=now)  # synced: 2
    await second.hit(key, now=now)  # in memory: second reckons 3
    decision = await first.hit(key, now=now)  # first reckons 2: still in memory
    assert decision is not None
    assert decision.remaining == 2
    await first.hit(key, now=now)  # reckons 3
    with pytest.raises(RateLimited):  # reckons 4 = the limit: syncs, the shared count is 5
        await first.hit(key, now=now)


async def test_no_limit_when_set_to_zero(ctx: AppContext) -> None:
    import uuid

    unlimited = ApiRateLimiter(limit=0, window_seconds=60, db=ctx.db)
    assert await unlimited.hit(uuid.uuid4(), now=ctx.clock()) is None
