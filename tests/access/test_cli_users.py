"""`user password` and `user disable`: the account changes and its sessions end."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.web.signin import EMAIL, add_user, browser, log_in
from wedsync_success.access.repository import user_by_email
from wedsync_success.cli import app
from wedsync_success.config import get_settings
from wedsync_success.context import AppContext


@pytest.fixture
def cli_env(ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WEDSYNC_DATABASE_URL", ctx.settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def _cli(*args: str, stdin: str | None = None) -> Result:
    """The CLI runs its own event loop: run it on a thread."""
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), input=stdin)


async def _signed_in(ctx: AppContext) -> None:
    await add_user(ctx)
    async with browser(ctx) as client:
        assert (await log_in(client)).status_code == 303


async def test_user_password_changes_it_and_ends_sessions(ctx: AppContext, cli_env: None) -> None:
    await _signed_in(ctx)
    result = await _cli("user", "password", EMAIL, stdin="brand new secret\nbrand new secret\n")
    assert result.exit_code == 0, result.output
    assert "1 session(s) ended" in result.output
    async with browser(ctx, "10.0.0.2") as client:
        assert (await log_in(client, password="brand new secret")).status_code == 303


async def test_user_password_refuses_a_short_one(ctx: AppContext, cli_env: None) -> None:
    await add_user(ctx)
    result = await _cli("user", "password", EMAIL, "--password", "short")
    assert result.exit_code == 1
    assert "password: at least 10 characters" in result.output


async def test_user_disable_ends_sessions(ctx: AppContext, cli_env: None) -> None:
    await _signed_in(ctx)
    result = await _cli("user", "disable", EMAIL)
    assert result.exit_code == 0, result.output
    assert "1 session(s) ended" in result.output
    async with browser(ctx, "10.0.0.2") as client:
        assert (await log_in(client)).status_code == 401


async def test_an_unknown_email_is_named(ctx: AppContext, cli_env: None) -> None:
    result = await _cli("user", "disable", "nobody@wedsync.example")
    assert result.exit_code == 1
    assert "No account with email 'nobody@wedsync.example'" in result.output


async def _role_of(ctx: AppContext, email: str) -> str:
    async with ctx.db.sessions() as session:
        user = await user_by_email(session, email)
    assert user is not None
    return user.role


async def test_user_create_takes_a_role_and_defaults_to_manager(
    ctx: AppContext, cli_env: None
) -> None:
    base = ("user", "create", "--name", "Vic", "--password", "long enough secret")
    result = await _cli(*base, "--email", "vic@wedsync.example", "--role", "viewer")
    assert result.exit_code == 0, result.output
    assert "(viewer)" in result.output
    assert await _role_of(ctx, "vic@wedsync.example") == "viewer"
    result = await _cli(*base, "--email", "max@wedsync.example")
    assert await _role_of(ctx, "max@wedsync.example") == "manager"
    refused = await _cli(*base, "--email", "zed@wedsync.example", "--role", "owner")
    assert refused.exit_code == 1
    assert "role: must be one of admin, manager, viewer" in refused.output


async def test_user_role_changes_what_the_account_may_do(ctx: AppContext, cli_env: None) -> None:
    await add_user(ctx)
    result = await _cli("user", "role", EMAIL, "VIEWER")
    assert result.exit_code == 0, result.output
    assert "is now viewer" in result.output
    assert await _role_of(ctx, EMAIL) == "viewer"
    unknown = await _cli("user", "role", "nobody@wedsync.example", "admin")
    assert unknown.exit_code == 1
    assert "No account with email" in unknown.output
