"""The Playbooks page and the send form in Chromium: charts drawn from the seeded playbook
history with no console or CSP errors, and an in-app message sent from a supplier's profile."""

from __future__ import annotations

import re

from playwright.async_api import ConsoleMessage, Page, expect

from tests.e2e.conftest import EMAIL, PASSWORD, LiveServer, shot
from tests.e2e.test_csp import RECORD_VIOLATIONS
from wedsync_success.web.security import STRICT_CSP


async def _sign_in(page: Page, server: LiveServer, next_path: str) -> None:
    await page.goto(f"{server.url}{next_path}")
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{server.url}{next_path}")


async def test_playbook_results_and_sending_a_message(page: Page, live_server: LiveServer) -> None:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    await page.add_init_script(RECORD_VIOLATIONS)
    await _sign_in(page, live_server, "/playbooks")

    response = await page.reload()
    assert response is not None
    assert response.headers["content-security-policy"] == STRICT_CSP
    rescue = page.locator('[data-playbook="at_risk_rescue"]')
    await expect(rescue.get_by_role("heading", level=2)).to_be_visible()
    # The weekly chart is drawn by Chart.js from its JSON block, with both arms.
    canvas = rescue.locator("canvas[data-weekly]")
    await expect(canvas).to_be_visible()
    await page.wait_for_function(
        "(c) => window.Chart && Chart.getChart(c) !== undefined", arg=await canvas.element_handle()
    )
    drawn = await canvas.evaluate(
        "c => { const chart = Chart.getChart(c); return [chart.data.datasets.map(d => d.label),"
        " chart.data.datasets.map(d => d.data.reduce((a, b) => a + b, 0))]; }"
    )
    assert drawn[0] == ["Treated", "Control"]
    assert drawn[1][0] > 0
    assert drawn[1][1] > 0
    # The funnel bars take their widths from classes, and the uplift chart is inline SVG.
    widths = await rescue.locator(".funnel .bar > span").evaluate_all(
        "spans => spans.map(s => s.getBoundingClientRect().width)"
    )
    assert len(widths) == 6
    assert widths[0] > 0
    await expect(rescue.locator("svg.interval-chart .estimate").first).to_be_visible()
    await expect(rescue.locator("table.retention tbody tr")).to_have_count(3)
    await shot(page, "playbooks")

    await page.get_by_role("link", name="Suppliers at risk").click()
    await page.locator("table.suppliers tbody tr a").first.click()
    await expect(page.get_by_role("heading", name="Outreach")).to_be_visible()
    form = page.locator("#send-message")
    await form.get_by_label("Channel").select_option("in_app")
    await form.get_by_label("Subject (email) or title (in-app)").fill("Let us plan your spring")
    await form.get_by_label("Message").fill("Shall we look at your enquiry form together?")
    await form.get_by_role("button", name="Send message").click()
    await expect(page).to_have_url(re.compile(r".*/suppliers/[0-9a-f-]{36}#outreach$"))
    await expect(page.locator("#notice")).to_contain_text("In-app message queued")
    row = page.locator("#outreach-table tbody tr", has_text="Let us plan your spring")
    await expect(row).to_have_count(1)
    await expect(row.locator(".badge")).to_have_text(re.compile("Queued|Sent"))
    await expect(row).to_contain_text("One-off")
    await shot(page, "supplier-outreach")

    assert await page.evaluate("window.__csp") == []
    assert problems == []
