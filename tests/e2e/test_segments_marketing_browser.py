"""The Segments and Marketing pages in Chromium over a seeded population whose server syncs
to a real local Segment-spec collector: the nav leads to every segment, a segment's
members link to their suppliers; the Marketing page shows the messages the server really
sent (one event name refused by the collector, so failures come first) and the campaigns.
No console or CSP errors on the way."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from playwright.async_api import ConsoleMessage, Page, expect

from tests.e2e.conftest import EMAIL, PASSWORD, LiveServer, shot
from tests.e2e.test_csp import RECORD_VIOLATIONS
from tests.e2e.test_playbooks_page import _sign_in
from tests.helpers import served
from tests.integrations.marketing.collector import collector
from wedsync_success.access.models import TeamRole
from wedsync_success.access.service import create_key
from wedsync_success.access.team import create_user
from wedsync_success.config import Settings
from wedsync_success.context import build_context
from wedsync_success.db import migrate
from wedsync_success.demo import seed
from wedsync_success.synthetic import generate_population

WRITE_KEY = "wk_e2e_0123456789"
REFUSED = "Segment Entered"
"""The track event the collector refuses (400): each such message fails on its own."""


async def _prepare(database_url: str, collector_url: str) -> str:
    """Seed the demo population with the marketing sync on: the seed's success events
    reach the marketing consumer, which queues their messages for the server to send."""
    settings = Settings(
        database_url=database_url,
        marketing_url=collector_url,
        marketing_write_key=WRITE_KEY,
        outbound_allow_private=True,  # the collector runs on 127.0.0.1
    )
    ctx = build_context(settings)
    try:
        population = generate_population(suppliers=150, months=6, seed=11, end=datetime.now(UTC))
        await seed(ctx, population, progress=lambda *_: None)
        async with ctx.db.transaction() as session:
            key = await create_key(session=session, name="e2e", scopes=["read"], now=ctx.clock())
            await create_user(
                session=session,
                email=EMAIL,
                name="E2E Admin",
                password=PASSWORD,
                now=ctx.clock(),
                role=TeamRole.ADMIN,  # the Marketing page is an admin's
            )
        return key.secret
    finally:
        await ctx.close()


@pytest.fixture(scope="module")
async def synced_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveServer]:
    """A server over its own seeded SQLite database, its marketing sync pointed at a
    collector on 127.0.0.1; yields once the collector has been sent messages."""
    database_url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('e2e-mkt') / 'e2e.db'}"
    migrate.upgrade(database_url)
    with collector(WRITE_KEY) as sink:
        sink.refuse_event = REFUSED
        api_key = await _prepare(database_url, sink.url)
        env = {
            "WEDSYNC_DISPATCH_INTERVAL_SECONDS": "0.5",
            "WEDSYNC_MARKETING_URL": sink.url,
            "WEDSYNC_MARKETING_WRITE_KEY": WRITE_KEY,
            "WEDSYNC_OUTBOUND_ALLOW_PRIVATE": "1",
        }
        async with served(database_url, env=env, start_timeout=30) as url:
            deadline = time.monotonic() + 60
            while not (sink.effects and sink.invalid):  # sent some, refused some
                assert time.monotonic() < deadline, (
                    f"sent {len(sink.effects)}, refused {sink.invalid[:3]}"
                )
                await asyncio.sleep(0.2)
            yield LiveServer(url=url, api_key=api_key, database_url=database_url)


async def test_segments_and_marketing_pages(page: Page, synced_server: LiveServer) -> None:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    await page.add_init_script(RECORD_VIOLATIONS)
    await _sign_in(page, synced_server, "/")
    nav = page.get_by_role("navigation", name="Main")

    await nav.get_by_role("link", name="Segments").click()
    await expect(page).to_have_url(f"{synced_server.url}/segments")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Segments")
    rows = page.locator("#segments-table tbody tr")
    await expect(rows).to_have_count(3)  # the segments file's three
    await shot(page, "segments-list")
    counts = await page.locator("[data-segment-members]").all_text_contents()
    populated = [i for i, n in enumerate(counts) if int(n.replace(",", "")) > 0]
    assert populated, f"no segment has members in the seeded population: {counts}"
    chosen = rows.nth(populated[0]).get_by_role("link").first
    name = (await chosen.text_content() or "").strip()
    await chosen.click()
    await expect(page).to_have_url(re.compile(r"/segments/[a-z_]+$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(name)
    await expect(page.locator("#chart-segment-members svg")).to_be_visible()
    await expect(page.locator("#segment-changes tbody tr").first).to_be_visible()
    await expect(page.locator("#members-csv")).to_have_attribute(
        "href", re.compile(r"/segments/[a-z_]+/members\.csv$")
    )
    member = page.locator("#segment-members tbody tr a").first
    await expect(member).to_be_visible()
    await shot(page, "segment-members")
    supplier = (await member.text_content() or "").strip()
    await member.click()
    await expect(page).to_have_url(re.compile(r"/suppliers/[0-9a-f-]{36}$"))
    await expect(page.get_by_role("heading", level=1)).to_contain_text(supplier)

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Marketing").click()
    await expect(page).to_have_url(f"{synced_server.url}/marketing")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Marketing")
    await expect(page.locator("#collector-host")).to_contain_text("127.0.0.1")
    assert WRITE_KEY not in await page.content()
    failing = page.locator("#failing-messages tbody tr")
    await expect(failing.first).to_be_visible()
    await expect(failing.first).to_have_attribute("data-state", "failed")
    await expect(failing.first).to_contain_text(REFUSED)
    await expect(page.locator('#recent-messages tbody tr[data-state="sent"]').first).to_be_visible()
    await expect(page.locator("#campaigns tbody tr")).to_have_count(2)  # the default file's
    await shot(page, "marketing")
    assert await page.evaluate("window.__csp") == []
    assert problems == []
