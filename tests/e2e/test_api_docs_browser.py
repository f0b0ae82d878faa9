"""The API docs (/docs) in a real browser with every request off the app's own origin
refused, as on a closed network: Swagger UI renders from the vendored assets, its Authorize
button takes an API key, and a call made from the page is answered. The page needs no inline
script or style: it runs under a strict Content-Security-Policy (the app's own when it sends
one, else the strictest a page of the app can have) without a single violation."""

from __future__ import annotations

from playwright.async_api import Page, Route, expect

from tests.e2e.conftest import LiveServer, shot

STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


async def test_the_api_docs_work_offline_and_authorize_calls_the_api(
    page: Page, live_server: LiveServer
) -> None:
    outside: list[str] = []

    async def only_the_app(route: Route) -> None:
        if not route.request.url.startswith(live_server.url):
            outside.append(route.request.url)
            await route.abort()
            return
        response = await route.fetch()
        headers = {"content-security-policy": STRICT_CSP, **response.headers}
        await route.fulfill(response=response, headers=headers)

    await page.context.route("**/*", only_the_app)
    await page.add_init_script(
        "window.cspViolations = [];"
        "document.addEventListener('securitypolicyviolation', e =>"
        " window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    await page.goto(f"{live_server.url}/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("WedSync Success API")
    events = page.locator("#operations-activity-post_events_api_v1_events_post")
    await expect(events).to_be_visible()

    # The request schema of POST /events is real: Swagger UI shows its fields.
    await events.locator(".opblock-summary").click()
    await expect(events.locator(".body-param__example")).to_contain_text("event_id")

    await page.locator(".auth-wrapper .authorize").click()
    dialog = page.locator(".modal-ux")
    bearer = dialog.locator(".auth-container").filter(has_text="HTTPBearer")
    await bearer.get_by_label("auth-bearer-value").fill(live_server.api_key)
    await bearer.locator("button.authorize").click()
    await expect(bearer.locator(".auth-btn-wrapper")).to_contain_text("Logout")
    await bearer.locator("button.btn-done").click()

    milestones = page.locator("#operations-milestones-get_milestones_api_v1_milestones_get")
    await milestones.locator(".opblock-summary").click()
    await milestones.get_by_role("button", name="Try it out").click()
    await milestones.get_by_role("button", name="Execute").click()
    status = milestones.locator(".live-responses-table tbody .response-col_status").first
    await expect(status).to_have_text("200")
    await shot(page, "api-docs")
    assert outside == [], f"/docs fetched from outside the app: {outside}"
    assert await page.evaluate("window.cspViolations") == []


async def test_redoc_is_not_offered(page: Page, live_server: LiveServer) -> None:
    response = await page.goto(f"{live_server.url}/redoc")
    assert response is not None
    assert response.status == 404
