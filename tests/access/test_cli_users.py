"""`user password` and `user disable`: the account changes and its sessions end."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.web.signin import EMAIL, add_user, browser, log_in
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
