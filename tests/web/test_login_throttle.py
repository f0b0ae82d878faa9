"""Failed sign-ins are throttled per account and per client address, the same for every email."""

from __future__ import annotations

import dataclasses
import re

import pytest

from tests.conftest import FakeClock
from tests.web.signin import EMAIL, PASSWORD, add_user, browser, log_in
from wedsync_success.context import AppContext, build_context
from wedsync_success.web import dashboard

WRONG = "not the password"


def _page(html: str, email: str) -> str:
    """The page with what differs by design blanked: the email typed, the CSRF token."""
    return re.sub(r'name="csrf" value="[^"]+"', "CSRF", html.replace(email, "EMAIL"))


@pytest.fixture
async def user(ctx: AppContext) -> None:
    await add_user(ctx)


async def test_five_failures_then_429_with_retry_after(ctx: AppContext, user: None) -> None:
    async with browser(ctx) as client:
        for _ in range(5):
            assert (await log_in(client, password=WRONG)).status_code == 401
        refused = await log_in(client, password=PASSWORD)  # even the right password, now
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= 900
        assert "Too many failed sign-ins" in refused.text
        assert (await client.get("/")).status_code == 303  # not signed in


async def test_an_unknown_email_gets_the_same_answers(ctx: AppContext, user: None) -> None:
    answers = {}
    for address, email in (("10.0.0.1", EMAIL), ("10.0.0.2", "nobody@wedsync.example")):
        async with browser(ctx, address) as client:
            replies = [await log_in(client, email=email, password=WRONG) for _ in range(6)]
        answers[email] = [
            (r.status_code, r.headers.get("retry-after"), _page(r.text, email)) for r in replies
        ]
    assert answers[EMAIL] == answers["nobody@wedsync.example"]
    assert [status for status, _, _ in answers[EMAIL]] == [401] * 5 + [429]


async def test_the_window_expires(ctx: AppContext, user: None, clock: FakeClock) -> None:
    async with browser(ctx) as client:
        for _ in range(5):
            await log_in(client, password=WRONG)
            clock.advance(seconds=60)
        # The first failure was 300 s ago: it leaves the 900 s window 600 s from now.
        refused = await log_in(client)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "600"
        clock.advance(seconds=599)
        assert (await log_in(client)).status_code == 429
        clock.advance(seconds=1)
        assert (await log_in(client)).status_code == 303


async def test_one_address_trying_many_emails_is_throttled(ctx: AppContext, user: None) -> None:
    async with browser(ctx, "10.0.0.9") as attacker:
        for n in range(5):
            assert (await log_in(attacker, email=f"guess{n}@wedsync.example")).status_code == 401
        assert (await log_in(attacker)).status_code == 429
    async with browser(ctx, "10.0.0.10") as colleague:
        assert (await log_in(colleague)).status_code == 303


async def test_a_correct_password_clears_the_accounts_failures(ctx: AppContext, user: None) -> None:
    for round_ in range(2):
        async with browser(ctx, f"10.0.1.{round_}") as client:
            for _ in range(4):
                assert (await log_in(client, password=WRONG)).status_code == 401
        async with browser(ctx, f"10.0.2.{round_}") as client:
            assert (await log_in(client)).status_code == 303


async def test_refusals_are_answered_after_the_pause(
    ctx: AppContext, user: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(dashboard, "_pause", pause)
    ctx = dataclasses.replace(
        ctx, settings=ctx.settings.model_copy(update={"login_refusal_delay_seconds": 1.5})
    )
    async with browser(ctx) as client:
        statuses = [(await log_in(client, password=WRONG)).status_code for _ in range(6)]
        assert statuses == [401] * 5 + [429]
        assert pauses == [1.5] * 6
    async with browser(ctx, "10.0.0.2") as client:
        assert (await log_in(client, email="other@wedsync.example")).status_code == 401
        assert len(pauses) == 7


async def test_processes_count_the_same_failures(ctx: AppContext, user: None) -> None:
    """A second context over the same database stands for a second API process."""
    other = build_context(ctx.settings, clock=ctx.clock)
    try:
        for n in range(5):
            async with browser(ctx if n % 2 else other) as client:
                assert (await log_in(client, password=WRONG)).status_code == 401
        async with browser(ctx) as client:
            assert (await log_in(client)).status_code == 429
    finally:
        await other.close()
