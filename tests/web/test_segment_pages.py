"""The dashboard's Segments pages: every segment with its movement, one segment's members
(paged, a bad cursor refused by name), its membership history from its events, its latest
entries and exits, the CSV export behind the sign-in; the empty state; who sees them."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET_KEY, FakeClock
from tests.factories import supplier
from tests.web.signin import add_user, browser, log_in
from wedsync_success.access.models import TeamRole
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.segments.history import DayCount
from wedsync_success.web import segment_pages, segment_view

VENUES = {
    "key": "venues_gb",
    "name": "Venues <in> GB",
    "rules": {
        "all": [
            {"field": "vendor_type", "op": "eq", "value": "venue"},
            {"field": "country", "op": "in", "value": ["GB", "IE"]},
        ]
    },
}
MEMBER_ROW = re.compile(r'<tr data-member="([0-9a-f-]{36})">')


async def _sign_in(client: httpx.AsyncClient, ctx: AppContext) -> None:
    """Sign in now (after the population's days have passed: a session idles out)."""
    await add_user(ctx)
    assert (await log_in(client)).status_code == 303


async def _upsert(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await client.post("/api/v1/suppliers", json={"suppliers": [body]})
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == 0, response.text


async def _reevaluate(client: httpx.AsyncClient) -> None:
    """An unchanged PATCH evaluates the segment again over everyone."""
    patched = await client.patch(f"/api/v1/segments/{VENUES['key']}", json={"name": VENUES["name"]})
    assert patched.status_code == 200, patched.text


async def _population(client: httpx.AsyncClient, clock: FakeClock) -> list[dict[str, object]]:
    """Day 0 (15 June): four GB venues enter. Day 2: two move to France and leave. Day 5
    (now): an Irish venue enters. Three members; five entries and two exits."""
    venues = [
        supplier(vendor_type="venue", country="GB", business_name=f"Hall <{n}>") for n in range(4)
    ]
    for body in [*venues, supplier(vendor_type="florist")]:
        await _upsert(client, body)
    assert (await client.post("/api/v1/segments", json=VENUES)).status_code == 201
    clock.advance(days=2)
    for body in venues[:2]:
        await _upsert(client, {**body, "country": "FR"})
    await _reevaluate(client)
    clock.advance(days=3)
    late = supplier(vendor_type="venue", country="IE", business_name="Late Hall")
    await _upsert(client, late)
    await _reevaluate(client)
    return [*venues, late]


async def test_the_segments_page_lists_every_segment_with_its_movement(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    await _population(client, clock)
    await _sign_in(client, ctx)
    response = await client.get("/segments")
    assert response.status_code == 200
    html = response.text
    assert '<a href="/segments" aria-current="page">Segments</a>' in html
    keys = re.findall(r'<tr data-segment="([a-z_]+)">', html)
    assert keys == [
        "at_risk_photographers_professional",
        "champions_not_referring",
        "onboarding_stalled",
        "venues_gb",
    ]
    row = html[html.index('<tr data-segment="venues_gb">') :].split("</tr>")[0]
    assert "Venues &lt;in&gt; GB" in row  # names are escaped
    assert "vendor_type = venue and country in GB, IE" in row
    assert '<td class="num" data-segment-members="venues_gb">3</td>' in row
    assert row.count("+5 / −2") == 2  # the 7 and the 30 days
    assert row.count("20 Jun 2026, 12:00 UTC") == 2  # the latest entry, the last evaluation
    assert '<td data-evaluated="venues_gb">20 Jun 2026, 12:00 UTC</td>' in row
    assert '<td data-evaluated="onboarding_stalled">not yet</td>' in html


async def test_the_movement_counts_only_the_window(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    await _population(client, clock)
    await _sign_in(client, ctx)
    clock.advance(days=6)  # day 11: the first entries and the exits are over 7 days old
    assert (await log_in(client)).status_code == 303
    html = (await client.get("/segments")).text
    row = html[html.index('<tr data-segment="venues_gb">') :].split("</tr>")[0]
    assert "+1 / −0" in row
    assert "+5 / −2" in row
    clock.advance(days=30)
    assert (await log_in(client)).status_code == 303
    html = (await client.get("/segments")).text
    row = html[html.index('<tr data-segment="venues_gb">') :].split("</tr>")[0]
    assert row.count("+0 / −0") == 2


async def test_a_segment_page_shows_members_history_and_changes(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    people = await _population(client, clock)
    florists = {
        "key": "florists",
        "name": "Florists",
        "rules": {"all": [{"field": "vendor_type", "op": "eq", "value": "florist"}]},
    }
    assert (await client.post("/api/v1/segments", json=florists)).status_code == 201
    await _sign_in(client, ctx)
    response = await client.get("/segments/venues_gb")
    assert response.status_code == 200
    html = response.text
    members = MEMBER_ROW.findall(html)
    assert sorted(members) == sorted(str(p["id"]) for p in people[2:])
    assert f'<a href="/suppliers/{people[2]["id"]}">Hall &lt;2&gt;</a>' in html
    assert 'href="/segments/venues_gb/members.csv"' in html
    assert "GET /api/v1/segments/venues_gb/members.csv" in html
    # The chart's numbers: 0 before the segment existed, 4 from 15 June, 2 from 17 June,
    # 3 today (20 June), worked back from the events.
    chart = html[html.index('id="chart-segment-members"') :]
    table = dict(re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]+)</td></tr>', chart))
    assert len(table) == 30
    assert next(iter(table)) == "22 May"  # 30 days, today the last
    assert (table["22 May"], table["14 Jun"]) == ("0", "0")
    assert (table["15 Jun"], table["16 Jun"]) == ("4", "4")
    assert (table["17 Jun"], table["19 Jun"], table["20 Jun"]) == ("2", "2", "3")
    changes = html[html.index('id="segment-changes"') :].split("</table>")[0]
    kinds = re.findall(r'<span class="badge status-\w+">(Entered|Exited)</span>', changes)
    assert kinds == ["Entered", "Exited", "Exited", "Entered", "Entered", "Entered", "Entered"]
    assert "Late Hall" in changes.split("</tr>")[1]  # newest first, named


async def test_members_page_with_a_cursor_and_a_bad_cursor_is_refused(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await _population(client, clock)
    await _sign_in(client, ctx)
    monkeypatch.setattr(segment_pages, "PAGE_SIZE", 2)
    first = (await client.get("/segments/venues_gb")).text
    link = re.search(r'<a href="(/segments/venues_gb\?cursor=[^"]+)" rel="next">', first)
    assert link is not None
    second = (await client.get(link.group(1).replace("&amp;", "&"))).text
    assert len(MEMBER_ROW.findall(first)) == 2
    shown = MEMBER_ROW.findall(first) + MEMBER_ROW.findall(second)
    assert sorted(shown) == sorted(str(p["id"]) for p in people[2:])
    assert 'rel="next"' not in second
    assert '<a href="/segments/venues_gb">First page</a>' in second

    broken = await client.get("/segments/venues_gb?cursor=garbage", headers={"Accept": "text/html"})
    assert broken.status_code == 422
    assert "Malformed pagination cursor (cursor)" in broken.text
    assert "<!doctype html>" in broken.text.lower()  # a page, not raw JSON
    unknown = await client.get("/segments/no_such_segment", headers={"Accept": "text/html"})
    assert unknown.status_code == 404
    assert "No segment" in unknown.text


async def test_the_csv_export_behind_the_sign_in(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    people = await _population(client, clock)
    await _sign_in(client, ctx)
    response = await client.get("/segments/venues_gb/members.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(r["supplier_id"] for r in rows) == sorted(str(p["id"]) for p in people[2:])
    assert (await client.get("/segments/nothing_here/members.csv")).status_code == 404


async def test_a_segment_nobody_matches_says_so(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await _sign_in(client, ctx)
    html = (await client.get("/segments/onboarding_stalled")).text
    assert 'id="segment-members-empty"' in html
    assert 'id="segment-history-empty"' in html
    assert 'id="segment-changes-empty"' in html
    assert 'id="chart-segment-members"' not in html


async def test_the_pages_need_a_sign_in_and_every_role_may_read_them(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    await _population(client, clock)
    for path in ("/segments", "/segments/venues_gb", "/segments/venues_gb/members.csv"):
        response = await client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login")
    await add_user(ctx, "vi@wedsync.example", "viewer password 123", role=TeamRole.VIEWER)
    async with browser(ctx) as viewer:
        assert (
            await log_in(viewer, "vi@wedsync.example", "viewer password 123")
        ).status_code == 303
        page = await viewer.get("/segments/venues_gb")
        assert page.status_code == 200
        assert '<a href="/segments" aria-current="page">Segments</a>' in page.text
        assert 'href="/marketing"' not in page.text  # the marketing sync is an admin's


@pytest.fixture
async def no_segments(
    database_url: str, clock: FakeClock, tmp_path: Path, ctx: AppContext
) -> AsyncIterator[AppContext]:
    """A context on ``ctx``'s emptied database whose segments file defines none."""
    path = tmp_path / "segments.yaml"
    path.write_text("version: 1\nsegments: []\n", encoding="utf-8")
    settings = Settings(database_url=database_url, secret_key=TEST_SECRET_KEY, segments_config=path)
    context = build_context(settings, clock=clock)
    yield context
    await context.close()


async def test_without_segments_the_page_says_how_to_define_one(no_segments: AppContext) -> None:
    await add_user(no_segments)
    async with browser(no_segments) as http:
        assert (await log_in(http)).status_code == 303
        html = (await http.get("/segments")).text
    empty = html[html.index('id="segments-empty"') :]
    assert "WEDSYNC_SEGMENTS_CONFIG" in empty
    assert "POST /api/v1/segments" in empty
    assert "data-segment=" not in html


def test_a_rule_in_words() -> None:
    rule = {
        "any": [
            {"field": "health.score", "op": "lt", "value": 40},
            {
                "all": [
                    {"field": "activity.login", "op": "lte", "value": 2, "days": 14},
                    {"field": "milestone", "op": "not_achieved", "value": "first_form"},
                ]
            },
            {"all": [{"field": "plan_tier", "op": "not_in", "value": ["free", "starter"]}]},
        ]
    }
    assert segment_view.rule_summary(rule) == (
        "health.score < 40 or (activity.login ≤ 2 in the last 14 days and milestone "
        "first_form not achieved) or plan_tier not in free, starter"
    )


def test_the_chart_keeps_whole_numbers_for_a_small_segment() -> None:
    points = [DayCount(day=date(2026, 6, d), members=n) for d, n in ((14, 0), (15, 1))]
    chart = segment_view.membership_chart(points)
    assert [t.text for t in chart.frame.y_ticks] == ["0", "1", "2", "3", "4", "5"]
    assert chart.table() == [["14 Jun", "0"], ["15 Jun", "1"]]
