"""Every dashboard page runs under the strict Content-Security-Policy with zero violations.

Violations are caught two ways: the ``securitypolicyviolation`` DOM event (recorded by a
script Playwright injects before any page script) and Chromium's console report. A canary
first proves the listener sees a violation, so an empty list means something.
"""

from __future__ import annotations

import re

from playwright.async_api import ConsoleMessage, Page, expect

from tests.e2e.conftest import EMAIL, PASSWORD, LiveServer
from wedsync_success.web.security import STRICT_CSP

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""


async def _violations(page: Page) -> list[str]:
    return list(await page.evaluate("window.__csp"))


async def _visit(page: Page, url: str, console: list[str]) -> None:
    response = await page.goto(url)
    assert response is not None
    assert response.headers["content-security-policy"] == STRICT_CSP, url
    await page.wait_for_load_state("load")
    if await page.locator("#live-indicator").count():
        await expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live")
    assert await _violations(page) == [], url
    assert console == [], url


async def test_every_page_loads_without_a_csp_violation(
    page: Page, live_server: LiveServer
) -> None:
    console: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            console.append(message.text)

    page.on("console", on_console)
    await page.add_init_script(RECORD_VIOLATIONS)
    base = live_server.url

    # The canary: an inline style attribute is refused and reported.
    await page.goto(f"{base}/login")
    await page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', '<b style=\"color:red\">x</b>')"
    )
    await page.wait_for_function("window.__csp.length > 0")
    console.clear()

    await _visit(page, f"{base}/login?next=/", console)
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{base}/")
    assert await _violations(page) == []

    await _visit(page, f"{base}/", console)
    await expect(page.locator("#chart-health")).to_be_visible()
    await _visit(page, f"{base}/suppliers?risk_level=at_risk", console)
    await _visit(page, f"{base}/suppliers", console)
    href = await page.locator("table.suppliers tbody tr a").first.get_attribute("href")
    assert href is not None
    await _visit(page, f"{base}{href}", console)
    # The bars take their widths from classes, not from (blocked) style attributes.
    bars = await page.locator(".components .bar > span").evaluate_all(
        "spans => spans.map(s => [s.className, s.getBoundingClientRect().width])"
    )
    assert len(bars) == 8  # one bar per health component
    assert all(re.fullmatch(r"w-\d+", name) for name, _ in bars)
    assert any(width > 0 for _, width in bars)
    await _visit(page, f"{base}/events", console)
    await _visit(page, f"{base}/suppliers?score_min=lots", console)  # the error page
    await page.get_by_role("link", name="Go back").click()
    await expect(page).to_have_url(f"{base}/events")
    assert await _violations(page) == []
