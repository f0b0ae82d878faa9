"""The dashboard's Marketing page (admins only): the sync's configuration without its
secrets, the messages sent to a real local collector (failures first, paged, a bad cursor
refused by name), the campaign triggers and their firings; the states with nothing to show."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_SECRET_KEY, FakeClock
from tests.integrations.marketing.collector import Collector, collector
from tests.integrations.marketing.conftest import WRITE_KEY, add_suppliers, emit, make_worker
from tests.web.signin import add_user, browser, log_in
from wedsync_success.access.models import TeamRole
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.events.types import SuccessEventType
from wedsync_success.web import marketing_pages

CAMPAIGNS = """
version: 1
campaigns:
  - key: venue_welcome
    description: A venue joined the venues segment.
    when: segment_entered
    segment: venues_gb
    cooldown_days: 14
    action: {track: Venue Welcome Started}
  - key: rescue
    when: risk_rise
    min_level: at_risk
    cooldown_days: 30
    action: {track: Churn Risk Rescue Started}
"""
MESSAGE_ROW = re.compile(r'<tr data-message="([^"]+)" data-state="(\w+)">')

Make = Callable[..., Awaitable[AppContext]]


@pytest.fixture
async def make(
    ctx: AppContext, database_url: str, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Make]:
    """Contexts on ``ctx``'s emptied database with the given marketing settings."""
    made: list[AppContext] = []

    async def build(campaigns: str = CAMPAIGNS, **settings: Any) -> AppContext:
        path = tmp_path / f"campaigns-{len(made)}.yaml"
        path.write_text(campaigns, encoding="utf-8")
        context = build_context(
            Settings(
                database_url=database_url,
                secret_key=TEST_SECRET_KEY,
                campaigns_config=path,
                marketing_timeout_seconds=5,
                outbound_allow_private=True,  # the collector runs on 127.0.0.1
                **settings,
            ),
            clock=clock,
        )
        made.append(context)
        return context

    yield build
    for context in made:
        await context.close()


async def _admin_page(ctx: AppContext, path: str = "/marketing") -> httpx.Response:
    await add_user(ctx, "lead@wedsync.example", "lead password 123", role=TeamRole.ADMIN)
    async with browser(ctx) as http:
        assert (await log_in(http, "lead@wedsync.example", "lead password 123")).status_code == 303
        return await http.get(path, headers={"Accept": "text/html"})


async def _sent(ctx: AppContext, clock: FakeClock, sink: Collector) -> list[Any]:
    """Three suppliers enter the venues segment: each gets an identify and a track call,
    and the welcome campaign fires for each (a track call the collector refuses)."""
    sink.refuse_event = "Venue Welcome Started"
    suppliers = await add_suppliers(ctx, 3, business_name="Hall <&> Co")
    await emit(ctx, suppliers, SuccessEventType.SEGMENT_ENTERED, {"segment_key": "venues_gb"})
    await make_worker(ctx, clock).drain()
    return suppliers


async def test_the_page_shows_messages_failures_first_and_campaign_firings(
    make: Make, clock: FakeClock
) -> None:
    with collector(WRITE_KEY) as sink:
        ctx = await make(marketing_url=sink.url, marketing_write_key=WRITE_KEY)
        suppliers = await _sent(ctx, clock, sink)
        response = await _admin_page(ctx)
    assert response.status_code == 200
    html = response.text
    assert '<a href="/marketing" aria-current="page">Marketing</a>' in html
    host = sink.url.removeprefix("http://")
    assert f"</span> {host}</dd>" in html
    assert WRITE_KEY not in html  # the key is only "set"
    assert "set</dd>" in html

    failing = html[html.index('id="failing-messages"') :].split("</table>")[0]
    rows = MESSAGE_ROW.findall(failing)
    assert len(rows) == 3
    assert {state for _, state in rows} == {"failed"}
    assert all(m.startswith("wedsync-campaign-venue_welcome-") for m, _ in rows)
    assert failing.count("<td>Venue Welcome Started</td>") == 3
    assert "HTTP 400" in failing
    assert "blocked by a tracking plan" in failing  # the collector's answer, as last error
    assert "Hall &lt;&amp;&gt; Co" in failing  # names are escaped

    recent = html[html.index('id="recent-messages"') :].split("</table>")[0]
    states = [state for _, state in MESSAGE_ROW.findall(recent)]
    assert sorted(states) == ["failed"] * 3 + ["sent"] * 6  # identify + track each
    assert recent.count(">identify<") == 3
    assert recent.count("<td>Segment Entered</td>") == 3  # the track call's event name
    for supplier_id in suppliers:
        assert f'href="/suppliers/{supplier_id}"' in recent

    campaigns = html[html.index('id="campaigns"') :].split("</table>")[0]
    welcome = campaigns[campaigns.index('data-campaign="venue_welcome"') :].split("</tr>")[0]
    assert 'enters <a href="/segments/venues_gb">venues_gb</a>' in welcome
    assert "track “Venue Welcome Started”" in welcome
    cells = re.findall(r'<td class="num">([^<]+)</td>', welcome)
    assert cells == ["14 days", "3", "3"]
    rescue = campaigns[campaigns.index('data-campaign="rescue"') :].split("</tr>")[0]
    assert "risk rises to At risk or worse" in rescue
    assert re.findall(r'<td class="num">([^<]+)</td>', rescue) == ["30 days", "0", "0"]
    firings = html[html.index('id="campaign-firings"') :].split("</table>")[0]
    assert firings.count("<code>venue_welcome</code>") == 3


async def test_recent_messages_page_and_a_bad_cursor_is_refused(
    make: Make, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(marketing_pages, "PAGE_SIZE", 4)
    with collector(WRITE_KEY) as sink:
        ctx = await make(marketing_url=sink.url, marketing_write_key=WRITE_KEY)
        await _sent(ctx, clock, sink)
        await add_user(ctx, "lead@wedsync.example", "lead password 123", role=TeamRole.ADMIN)
        async with browser(ctx) as http:
            await log_in(http, "lead@wedsync.example", "lead password 123")
            seen: list[str] = []
            path: str | None = "/marketing"
            pages = 0
            while path is not None:
                html = (await http.get(path)).text
                recent = html[html.index('id="recent-messages"') :].split("</table>")[0]
                seen.extend(m for m, _ in MESSAGE_ROW.findall(recent))
                link = re.search(r'<a href="(/marketing\?cursor=[^"]+)" rel="next">', html)
                path = link.group(1).replace("&amp;", "&") if link else None
                pages += 1
            broken = await http.get("/marketing?cursor=garbage", headers={"Accept": "text/html"})
    assert pages == 3  # 9 messages, 4 a page
    assert len(seen) == len(set(seen)) == 9
    assert broken.status_code == 422
    assert "Malformed pagination cursor (cursor)" in broken.text


async def test_the_collector_is_shown_by_its_host_alone(make: Make) -> None:
    ctx = await make(
        marketing_url="https://collector.example:8443/private-path/t0ken",
        marketing_write_key="wk_live_do_not_show",
    )
    html = (await _admin_page(ctx)).text
    assert "collector.example:8443" in html
    assert "private-path" not in html
    assert "t0ken" not in html
    assert "wk_live_do_not_show" not in html
    assert 'id="recent-empty"' in html  # on, but nothing delivered yet
    assert 'id="failing-empty"' in html
    assert 'id="firings-empty"' in html


async def test_with_the_sync_off_the_page_says_how_to_turn_it_on(make: Make) -> None:
    ctx = await make(campaigns="version: 1\ncampaigns: []\n")
    html = (await _admin_page(ctx)).text
    off = html[html.index('id="sync-off"') :].split("</p>")[0]
    assert "WEDSYNC_MARKETING_URL" in off
    assert "WEDSYNC_MARKETING_WRITE_KEY" in off
    assert 'id="recent-empty"' in html
    assert "the sync is off" in html
    empty = html[html.index('id="campaigns-empty"') :].split("</p>")[0]
    assert "WEDSYNC_CAMPAIGNS_CONFIG" in empty


async def test_a_track_campaign_is_inactive_without_a_collector(make: Make) -> None:
    html = (await _admin_page(await make())).text
    welcome = html[html.index('data-campaign="venue_welcome"') :].split("</tr>")[0]
    assert "inactive" in welcome


async def test_only_admins_see_the_marketing_page(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    anonymous = await client.get("/marketing", headers={"Accept": "text/html"})
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    await add_user(ctx)  # a manager
    assert (await log_in(client)).status_code == 303
    refused = await client.get("/marketing", headers={"Accept": "text/html"})
    assert refused.status_code == 403
    assert "Only admins see the marketing sync." in refused.text
    overview = (await client.get("/")).text
    assert 'href="/marketing"' not in overview
    assert 'href="/segments"' in overview
    admin = await _admin_page(ctx, "/")
    assert 'href="/marketing"' in admin.text


async def test_messages_waiting_to_retry_count_as_failures(make: Make, clock: FakeClock) -> None:
    with collector(WRITE_KEY) as sink:
        ctx = await make(campaigns="version: 1\ncampaigns: []\n", marketing_url=sink.url)
        sink.answers = [(503, {})]  # the first batch; its retries are not due yet
        suppliers = await add_suppliers(ctx, 1)
        await emit(ctx, suppliers)
        await make_worker(ctx, clock).drain()
        html = (await _admin_page(ctx)).text
    failing = html[html.index('id="failing-messages"') :].split("</table>")[0]
    rows = MESSAGE_ROW.findall(failing)
    assert [state for _, state in rows] == ["pending", "pending"]  # identify and track
    assert failing.count('<span class="muted small">HTTP 503</span>') == 2
    assert failing.count("scripted failure") == 2  # the collector's answer, as last error
    assert failing.count("retry 15 Jun 2026") == 2
