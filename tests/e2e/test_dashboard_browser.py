"""The dashboard in a real browser: sign in, find an at-risk supplier, live milestone, sign out."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import httpx
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import EMAIL, PASSWORD, LiveServer, shot


async def _sign_in(page: Page, server: LiveServer, password: str = PASSWORD) -> None:
    await page.goto(f"{server.url}/")
    await expect(page).to_have_url(f"{server.url}/login?next=/")
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def test_a_page_without_a_session_goes_to_login(page: Page, live_server: LiveServer) -> None:
    await page.goto(f"{live_server.url}/suppliers?risk_level=critical")
    await expect(page).to_have_url(
        f"{live_server.url}/login?next=/suppliers%3Frisk_level%3Dcritical"
    )
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await shot(page, "login")


async def test_a_wrong_password_is_refused(page: Page, live_server: LiveServer) -> None:
    await _sign_in(page, live_server, password="definitely-wrong")
    await expect(page.get_by_role("alert")).to_have_text("Wrong email or password")
    await page.goto(f"{live_server.url}/")
    await expect(page).to_have_url(f"{live_server.url}/login?next=/")


async def test_success_manager_journey(page: Page, live_server: LiveServer) -> None:
    await _sign_in(page, live_server)
    await expect(page).to_have_url(f"{live_server.url}/")
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live")
    await expect(page.locator("#chart-health")).to_be_visible()
    await shot(page, "overview")

    await page.get_by_role("link", name="Suppliers at risk").click()
    await page.get_by_label("Risk level").select_option("at_risk")
    await page.get_by_role("button", name="Apply").click()
    await expect(page).to_have_url(re.compile(r".*/suppliers\?risk_level=at_risk&.*"))
    first = page.locator("table.suppliers tbody tr").first
    await expect(first.locator(".churn-risk")).to_contain_text("At risk")
    await expect(first.locator("svg.sparkline")).to_be_visible()
    await shot(page, "suppliers-at-risk")

    await first.get_by_role("link").first.click()
    await expect(page.get_by_role("heading", name="Components")).to_be_visible()
    await expect(page.locator(".components li")).to_have_count(8)
    await expect(page.get_by_role("heading", name="Milestones")).to_be_visible()
    await expect(page.locator(".milestone-card")).to_have_count(10)
    await shot(page, "supplier-profile")

    # A milestone completed through the API appears on the open page, without a reload.
    supplier_id = await page.locator("[data-supplier-page]").get_attribute("data-supplier-page")
    card = page.locator('[data-milestone="first_referral_converted"]')
    await expect(card).to_have_class("milestone-card pending")
    await page.evaluate("window.__notReloaded = true")
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{live_server.url}/api/v1/events",
            headers={"Authorization": f"Bearer {live_server.api_key}"},
            json=[
                {
                    "event_id": f"e2e-{uuid.uuid4()}",
                    "supplier_id": supplier_id,
                    "type": "referral_converted",
                    "occurred_at": datetime.now(UTC).isoformat(),
                }
            ],
        )
    assert response.json()["accepted"] == 1
    await expect(card).to_have_class("milestone-card achieved fresh", timeout=5000)
    assert await page.evaluate("window.__notReloaded") is True
    await expect(page.locator("#timeline")).to_contain_text("Reached “First referral converted”")
    await shot(page, "supplier-profile-live-milestone")

    await page.get_by_role("link", name="Events").click()
    await expect(page.locator("#events-table tbody")).to_contain_text(
        "Reached “First referral converted”"
    )
    await shot(page, "events")

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{live_server.url}/login")
    await page.goto(f"{live_server.url}/events")
    await expect(page).to_have_url(f"{live_server.url}/login?next=/events")


async def test_pages_fit_a_tablet_and_work_from_the_keyboard(
    browser: Browser, live_server: LiveServer
) -> None:
    context = await browser.new_context(viewport={"width": 820, "height": 1180})
    page = await context.new_page()
    try:
        await _sign_in(page, live_server)
        for path, name in (("/", "tablet-overview"), ("/suppliers", "tablet-suppliers")):
            await page.goto(f"{live_server.url}{path}")
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a tablet"
            await shot(page, name)
        # The skip link is the first stop for keyboard users and lands on the content.
        await page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to content")
        await expect(skip).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.locator("main")).to_be_focused()
    finally:
        await context.close()
