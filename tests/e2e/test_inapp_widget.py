"""The in-app widget in a real browser, on the demo supplier app: the coach card and the
milestone card show (escaped), are marked seen, a CTA click and a dismissal are stored, a
message posted while the page is open appears without a reload, and a reload keeps the
dismissed card gone — all under the page's own strict CSP."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import LiveServer, shot
from tests.e2e.test_csp import RECORD_VIOLATIONS
from tests.factories import supplier
from tests.interventions.inapp_helpers import seed_message
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.interventions.models import InAppMessage
from wedsync_success.suppliers.repository import users_of
from wedsync_success.web.security import DEMO_CSP

HOSTILE_TITLE = '<img src=x onerror="window.__xss=1">Send your first client form'
WAIT_SECONDS = 15


@pytest.fixture
async def db(live_server: LiveServer) -> AsyncIterator[AppContext]:
    """The served database, opened from the test as the orchestrator would write to it."""
    ctx = build_context(Settings(database_url=live_server.database_url))
    try:
        yield ctx
    finally:
        await ctx.close()


async def _supplier_with_user(server: LiveServer, ctx: AppContext) -> tuple[uuid.UUID, uuid.UUID]:
    body = supplier(business_name="Willow & Wren Photography", vendor_type="photographer")
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{server.url}/api/v1/suppliers",
            headers={"Authorization": f"Bearer {server.api_key}"},
            json={"suppliers": [body]},
        )
    assert response.status_code == 200, response.text
    supplier_id = uuid.UUID(body["id"])
    async with ctx.db.sessions() as session:
        (user,) = await users_of(session, supplier_id)
    return supplier_id, user.id


async def _post(
    ctx: AppContext, supplier_id: uuid.UUID, user_id: uuid.UUID, **fields: str | None
) -> int:
    async with ctx.db.transaction() as session:
        _, message_id = await seed_message(
            session, supplier_id=supplier_id, supplier_user_id=user_id, now=ctx.clock(), **fields
        )
    return message_id


async def _until(
    ctx: AppContext, message_id: int, condition: Callable[[InAppMessage], bool]
) -> InAppMessage:
    """The stored message once ``condition`` holds (the widget writes asynchronously)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        async with ctx.db.sessions() as session:
            message = await session.get(InAppMessage, message_id)
        assert message is not None
        if condition(message):
            return message
        assert time.monotonic() < deadline, f"message {message_id} never reached the state"
        await asyncio.sleep(0.1)


async def _expect_no_csp_violation(page: Page) -> None:
    assert await page.evaluate("window.__csp") == []


async def test_the_coach_on_the_demo_supplier_app(
    page: Page, live_server: LiveServer, db: AppContext
) -> None:
    supplier_id, user_id = await _supplier_with_user(live_server, db)
    coach_id = await _post(db, supplier_id, user_id, title=HOSTILE_TITLE)
    milestone_id = await _post(
        db,
        supplier_id,
        user_id,
        kind="celebration",
        title="Your first booking through WedSync!",
        body="Congratulations: a couple booked you from your WedSync profile.",
        cta_label="Share the news",
        cta_url="https://app.wedsync.example/share",
    )
    await page.context.route(
        "https://app.wedsync.example/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<p>WedSync</p>"),
    )
    await page.add_init_script(RECORD_VIOLATIONS)

    response = await page.goto(f"{live_server.url}/demo/supplier-app/{supplier_id}")
    assert response is not None
    assert response.headers["content-security-policy"] == DEMO_CSP
    coach = page.locator(f'.wsc-coach-card[data-message-id="{coach_id}"]')
    milestone = page.locator(f'.wsc-milestone-card[data-message-id="{milestone_id}"]')
    await expect(coach.locator(".wsc-title")).to_have_text(HOSTILE_TITLE)
    await expect(coach.get_by_role("link", name="Create a form")).to_have_attribute(
        "href", "https://app.wedsync.example/forms/new"
    )
    await expect(milestone).to_contain_text("Milestone reached")
    await expect(milestone.locator(".wsc-title")).to_have_text(
        "Your first booking through WedSync!"
    )
    assert await page.locator("img[src=x]").count() == 0
    assert await page.evaluate("window.__xss") is None
    await shot(page, "inapp-widget")

    # Shown cards are marked seen; a CTA click is stored as a click.
    await _until(db, coach_id, lambda m: m.seen_at is not None)
    await _until(db, milestone_id, lambda m: m.seen_at is not None)
    async with page.context.expect_page() as opened:
        await milestone.get_by_role("link", name="Share the news").click()
    await (await opened.value).close()
    await _until(db, milestone_id, lambda m: m.clicked_at is not None)

    # Dismissed: gone from the page and stored.
    await coach.get_by_role("button", name=f"Dismiss: {HOSTILE_TITLE}").click()
    await expect(coach).to_have_count(0)
    await _until(db, coach_id, lambda m: m.dismissed_at is not None)

    # A message posted while the page is open appears without a reload.
    await page.evaluate("window.__notReloaded = true")
    late_id = await _post(
        db, supplier_id, user_id, title="Add your 2027 prices", cta_label=None, cta_url=None
    )
    late = page.locator(f'.wsc-coach-card[data-message-id="{late_id}"]')
    await expect(late.locator(".wsc-title")).to_have_text(
        "Add your 2027 prices", timeout=WAIT_SECONDS * 1000
    )
    await expect(late.locator(".wsc-cta")).to_have_count(0)
    assert await page.evaluate("window.__notReloaded") is True
    await _until(db, late_id, lambda m: m.seen_at is not None)
    await _expect_no_csp_violation(page)

    # After a reload the dismissed card stays gone and the others are back.
    await page.reload()
    await expect(page.locator("#wedsync-coach")).to_have_attribute("data-state", "live")
    await expect(late).to_have_count(1)
    await expect(milestone).to_have_count(1)
    await expect(coach).to_have_count(0)
    await _expect_no_csp_violation(page)


async def test_offline_the_cards_stay_and_a_dismissal_is_sent_when_back_online(
    page: Page, live_server: LiveServer, db: AppContext
) -> None:
    supplier_id, user_id = await _supplier_with_user(live_server, db)
    message_id = await _post(db, supplier_id, user_id, title="Reply to new enquiries faster")
    url = f"{live_server.url}/demo/supplier-app/{supplier_id}"
    await page.goto(url)
    card = page.locator(f'.wsc-card[data-message-id="{message_id}"]')
    await expect(card).to_have_count(1)
    await _until(db, message_id, lambda m: m.seen_at is not None)

    await page.context.set_offline(True)
    await card.get_by_role("button", name="Dismiss: Reply to new enquiries faster").click()
    await expect(card).to_have_count(0)
    await expect(page.locator("#wedsync-coach")).to_have_attribute("data-state", "offline")
    async with db.db.sessions() as session:
        stored = await session.get(InAppMessage, message_id)
    assert stored is not None
    assert stored.dismissed_at is None  # not delivered yet: kept in the widget's outbox

    await page.context.set_offline(False)
    await _until(db, message_id, lambda m: m.dismissed_at is not None)
    await expect(page.locator("#wedsync-coach")).to_have_attribute("data-state", "live")


async def test_an_unknown_supplier_has_no_demo_app(page: Page, live_server: LiveServer) -> None:
    response = await page.goto(f"{live_server.url}/demo/supplier-app/{uuid.uuid4()}")
    assert response is not None
    assert response.status == 404
