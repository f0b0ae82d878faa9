"""Dashboard sessions end server-side: logout, a password change, disabling the account, and
the idle and absolute lifetimes; a copy of the cookie dies with the session."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import FakeClock
from tests.web.signin import EMAIL, add_user, browser, log_in, log_out
from wedsync_success.access.models import TeamSession
from wedsync_success.access.team import change_password, disable_user
from wedsync_success.context import AppContext


@pytest.fixture
async def user(ctx: AppContext) -> None:
    await add_user(ctx)


async def _signed_in_cookies(ctx: AppContext) -> httpx.Cookies:
    async with browser(ctx) as client:
        assert (await log_in(client)).status_code == 303
        assert (await client.get("/")).status_code == 200
        return httpx.Cookies(client.cookies)


async def _page_with(ctx: AppContext, cookies: httpx.Cookies) -> httpx.Response:
    async with browser(ctx, "10.9.9.9", cookies=cookies) as thief:
        return await thief.get("/")


async def _sessions(ctx: AppContext) -> int:
    async with ctx.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(TeamSession)) or 0)


async def test_a_cookie_copied_before_logout_stops_working(ctx: AppContext, user: None) -> None:
    async with browser(ctx) as client:
        assert (await log_in(client)).status_code == 303
        captured = httpx.Cookies(client.cookies)
        assert (await _page_with(ctx, captured)).status_code == 200  # the copy works, for now
        assert (await log_out(client)).status_code == 303
    replayed = await _page_with(ctx, captured)
    assert replayed.status_code == 303
    assert replayed.headers["location"] == "/login?next=/"
    assert await _sessions(ctx) == 0


async def test_a_password_change_ends_every_session(ctx: AppContext, user: None) -> None:
    cookies = await _signed_in_cookies(ctx)
    async with ctx.db.transaction() as session:
        _, ended = await change_password(session=session, email=EMAIL, password="a new password!")
    assert ended == 1
    assert (await _page_with(ctx, cookies)).status_code == 303
    async with browser(ctx, "10.0.0.2") as client:
        assert (await log_in(client)).status_code == 401
        assert (await log_in(client, password="a new password!")).status_code == 303


async def test_disabling_an_account_ends_its_sessions_and_refuses_it(
    ctx: AppContext, user: None
) -> None:
    cookies = await _signed_in_cookies(ctx)
    async with ctx.db.transaction() as session:
        _, ended = await disable_user(session=session, email=EMAIL, now=ctx.clock())
    assert ended == 1
    assert (await _page_with(ctx, cookies)).status_code == 303
    async with browser(ctx, "10.0.0.2") as client:
        refused = await log_in(client)
        assert refused.status_code == 401
        assert "Wrong email or password" in refused.text


async def test_idle_sessions_end(ctx: AppContext, user: None, clock: FakeClock) -> None:
    idle = ctx.settings.session_idle_minutes
    async with browser(ctx) as client:
        assert (await log_in(client)).status_code == 303
        for _ in range(3):  # each use restarts the idle clock
            clock.advance(minutes=idle - 1)
            assert (await client.get("/")).status_code == 200
        clock.advance(minutes=idle)
        assert (await client.get("/")).status_code == 303


async def test_sessions_end_after_the_absolute_lifetime(
    ctx: AppContext, user: None, clock: FakeClock
) -> None:
    ctx = dataclasses.replace(
        ctx,
        settings=ctx.settings.model_copy(
            update={"session_idle_minutes": 60, "session_absolute_hours": 3}
        ),
    )
    async with browser(ctx) as client:
        assert (await log_in(client)).status_code == 303
        for _ in range(3):  # in use every 59 minutes: never idle
            clock.advance(minutes=59)
            assert (await client.get("/")).status_code == 200
        clock.advance(minutes=3)  # 3 h after sign-in
        assert (await client.get("/")).status_code == 303


async def test_signing_in_again_starts_a_new_session(ctx: AppContext, user: None) -> None:
    first = await _signed_in_cookies(ctx)
    second = await _signed_in_cookies(ctx)
    assert first.get("wedsync_session") != second.get("wedsync_session")
    assert await _sessions(ctx) == 2
