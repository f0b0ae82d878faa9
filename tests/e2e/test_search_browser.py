"""Finding a supplier in Chromium: typing into the top bar's search, picking a suggestion
with the keyboard to land on the profile, then filtering the events page by the name and
seeing names, not "open", in its Supplier column; no console or CSP errors on the way."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from playwright.async_api import ConsoleMessage, Page, expect

from tests.e2e.conftest import LiveServer, shot
from tests.e2e.test_csp import RECORD_VIOLATIONS
from tests.e2e.test_playbooks_page import _sign_in
from tests.factories import supplier


async def _named_supplier(server: LiveServer, name: str) -> str:
    """A supplier called ``name`` with a success event (its first client, a milestone)."""
    body = supplier(
        business_name=name, signed_up_at=(datetime.now(UTC) - timedelta(days=30)).isoformat()
    )
    headers = {"Authorization": f"Bearer {server.api_key}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as api:
        made = await api.post("/api/v1/suppliers", json={"suppliers": [body]})
        assert made.status_code == 200, made.text
        client = {
            "event_id": f"e2e-{uuid.uuid4()}",
            "supplier_id": body["id"],
            "type": "client_added",
            "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
            "properties": {},
        }
        stored = await api.post("/api/v1/events", json={"events": [client]})
        assert stored.status_code == 200, stored.text
    return str(body["id"])


async def test_finding_a_supplier_and_their_events(page: Page, live_server: LiveServer) -> None:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    await page.add_init_script(RECORD_VIOLATIONS)
    tag = uuid.uuid4().hex[:6]
    name = f"Quillon Larkspur Weddings {tag}"
    supplier_id = await _named_supplier(live_server, name)
    await _named_supplier(live_server, f"Larkspur Quillon Studio {tag}")
    await _sign_in(page, live_server, "/tasks")

    # Search as you type from the top bar; the keyboard picks the suggestion.
    box = page.get_by_role("search").get_by_label("Search suppliers")
    await box.press_sequentially("quillon LARK", delay=30)
    suggestions = page.locator("#topbar-suggestions")
    await expect(suggestions).to_be_visible()
    options = suggestions.get_by_role("option")
    await expect(options.first).to_contain_text("Quillon Larkspur")
    await expect(box).to_have_attribute("aria-expanded", "true")
    await shot(page, "search-suggestions")
    await box.press("ArrowDown")
    await expect(options.first).to_have_attribute("aria-selected", "true")
    await expect(box).to_have_attribute("aria-activedescendant", "topbar-suggestions-0")
    await box.press("Escape")
    await expect(suggestions).to_be_hidden()
    await box.press("ArrowDown")  # opens them again
    await expect(suggestions).to_be_visible()
    await box.press("ArrowDown")
    await box.press("Enter")
    await expect(page).to_have_url(f"{live_server.url}/suppliers/{supplier_id}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(name)

    # The results page, for Enter without a suggestion picked.
    await box.fill(f"larkspur {tag}")
    await box.press("Enter")
    await expect(page).to_have_url(re.compile(r"/search\?q=larkspur"))
    await expect(page.locator("#search-results tbody tr")).to_have_count(2)

    # The events page, filtered by a name matching both: both names in the Supplier column.
    await page.goto(f"{live_server.url}/events")
    field = page.get_by_label("Supplier name")
    await field.fill(f"quillon {tag}")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("#supplier-matches li")).to_have_count(2)
    cells = page.locator("#events-table tbody tr td:nth-child(4)")
    await expect(cells.first).to_contain_text(tag)
    texts = set(await cells.all_inner_texts())
    assert texts == {name, f"Larkspur Quillon Studio {tag}"}, texts
    await shot(page, "events-filtered-by-name")

    # Picking one suggestion in the events field narrows to that supplier.
    await field.fill("")
    await field.press_sequentially(f"quillon larkspur wed {tag}", delay=30)
    events_options = page.locator("#f-supplier-suggestions").get_by_role("option")
    await expect(events_options).to_have_count(1)
    await field.press("ArrowDown")
    await field.press("Enter")
    await expect(page).to_have_url(re.compile(rf"supplier_id={supplier_id}"))
    await expect(page.locator("#supplier-filter-note")).to_contain_text(name)
    assert set(await cells.all_inner_texts()) == {name}

    # A live event of that supplier arrives as a row naming them.
    await expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live")
    headers = {"Authorization": f"Bearer {live_server.api_key}"}
    async with httpx.AsyncClient(base_url=live_server.url, headers=headers) as api:
        referral = {
            "event_id": f"e2e-{uuid.uuid4()}",
            "supplier_id": supplier_id,
            "type": "referral_converted",
            "occurred_at": datetime.now(UTC).isoformat(),
        }
        assert (await api.post("/api/v1/events", json=[referral])).json()["accepted"] == 1
    fresh = page.locator("#events-table tbody tr.fresh", has_text="First referral converted")
    await expect(fresh.locator("td:nth-child(4) a")).to_have_text(name, timeout=5000)
    await shot(page, "events-live-row-named")

    none = page.get_by_label("Supplier name")
    await none.fill("zyxwv nobody")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("#supplier-filter-note")).to_contain_text(
        "No supplier is called “zyxwv nobody”"
    )
    assert problems == []
