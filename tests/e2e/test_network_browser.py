"""The Network page in Chromium over the seeded demo: the nav leads to the top connectors,
a connector's referral tree links on to the suppliers it brought in and back to the
supplier page; no console or CSP errors on the way."""

from __future__ import annotations

import re

from playwright.async_api import ConsoleMessage, Page, expect

from tests.e2e.conftest import LiveServer, shot
from tests.e2e.test_csp import RECORD_VIOLATIONS
from tests.e2e.test_playbooks_page import _sign_in


async def test_the_network_page_and_a_referral_tree(page: Page, live_server: LiveServer) -> None:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    await page.add_init_script(RECORD_VIOLATIONS)
    await _sign_in(page, live_server, "/")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Network").click()
    await expect(page).to_have_url(f"{live_server.url}/network")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Referral network")
    rows = page.locator("#top-connectors tbody tr")
    await expect(rows.first).to_be_visible()  # the demo's referrals name real suppliers
    await shot(page, "network-top-connectors")

    top = rows.first.get_by_role("link")
    name = (await top.text_content() or "").strip()
    await top.click()
    await expect(page).to_have_url(re.compile(r"/network/suppliers/[0-9a-f-]{36}$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(name)
    tree = page.locator("#referral-tree")
    joined = tree.locator("li a").first
    await expect(joined).to_be_visible()  # the top connector brought someone in
    await shot(page, "network-referral-tree")
    child = (await joined.text_content() or "").strip()
    await joined.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(child)
    await page.get_by_role("link", name="Supplier page").click()
    await expect(page).to_have_url(re.compile(r"/suppliers/[0-9a-f-]{36}$"))
    await expect(page.locator("#referral-network-link")).to_be_visible()
    violations = await page.evaluate("window.__csp")
    assert violations == []
    assert problems == []
