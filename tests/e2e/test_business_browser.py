"""The Business page and its printable report in Chromium: charts drawn (SVG with real
geometry), no CSP violation or console error, and the report printing to a PDF."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import ConsoleMessage, Page, expect

from tests.e2e.conftest import ARTIFACTS, LiveServer, shot
from tests.e2e.test_csp import RECORD_VIOLATIONS
from tests.e2e.test_playbooks_page import _sign_in


async def test_the_business_page_and_its_printed_report(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    await page.add_init_script(RECORD_VIOLATIONS)
    await _sign_in(page, live_server, "/")
    await page.get_by_role("link", name="Business").click()
    await expect(page.get_by_role("heading", name="Business", level=1)).to_be_visible()
    for chart in ("chart-mrr-movements", "chart-logo-churn", "chart-nrr-grr", "chart-survival"):
        figure = page.locator(f"#{chart} svg")
        await expect(figure).to_be_visible()
        box = await figure.bounding_box()
        assert box is not None
        assert box["width"] > 200
    # The demo history churns: the movements chart has bars, the churn chart a line.
    assert await page.locator("#chart-mrr-movements rect.bar").count() > 0
    churn_line = await page.locator("#chart-logo-churn path.line.s0").get_attribute("d")
    assert churn_line
    assert churn_line.count("L") >= 2
    assert await page.locator("#chart-cohorts table.heat-map td[class^=h]").count() > 0
    # Attribution: the demo's upgrades and renewals, and the touches credited for them.
    attribution = page.locator("#attribution")
    await expect(attribution.locator(":scope > table.data tbody tr")).to_have_count(3)
    credited = page.locator("#chart-attribution svg")
    await expect(credited).to_be_visible()
    assert await page.locator("#chart-attribution rect.bar").count() > 0
    await shot(page, "business-page")

    await page.get_by_role("link", name="Printable report").click()
    await expect(page.locator("#summary")).to_contain_text("monthly logo churn")
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = await page.pdf(path=str(ARTIFACTS / "monthly-report.pdf"), format="A4")
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 20_000
    assert await page.evaluate("window.__csp") == []
    assert problems == []
