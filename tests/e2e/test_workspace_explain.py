"""Explanations that read right, in Chromium: strengths and gaps against healthy, what would
raise the score most, the peer chart, grouped churn drivers, and an onboarding supplier shown
with its progress instead of "critical"."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import EMAIL, PASSWORD, LiveServer, shot
from tests.factories import event, supplier
from wedsync_success.churn.explain import as_logged, drivers
from wedsync_success.churn.features import FeatureSpec
from wedsync_success.churn.repository import PredictionBatch, write_predictions
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.kit.currency import DEFAULT_RATES


@pytest.fixture
async def db(live_server: LiveServer) -> AsyncIterator[AppContext]:
    """The served database, opened from the test as a scoring job would write to it."""
    ctx = build_context(Settings(database_url=live_server.database_url))
    try:
        yield ctx
    finally:
        await ctx.close()


async def _api(server: LiveServer, path: str, body: dict[str, Any]) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{server.url}/api/v1{path}",
            headers={"Authorization": f"Bearer {server.api_key}"},
            json=body,
        )
    assert response.status_code == 200, response.text


async def _supplier(server: LiveServer, events: list[str], **fields: Any) -> str:
    body = supplier(**fields)
    await _api(server, "/suppliers", {"suppliers": [body]})
    now = datetime.now(UTC)
    sid = str(body["id"])
    if events:
        items = [event(sid, t, now - timedelta(days=i % 20, hours=1)) for i, t in enumerate(events)]
        await _api(server, "/events", {"events": items})
    return sid


async def _grouped_prediction(ctx: AppContext, sid: str) -> None:
    """A logged prediction whose drivers group logins and onboarding milestones."""
    spec = FeatureSpec(("first_client_added",), ("First client added",))
    names = list(spec.names)
    contributions, values = np.zeros(len(names) + 1), np.zeros(len(names))
    for name, impact, value in (
        ("days_since_login", 0.42, 23.0),
        ("logins_30d", 0.11, 0.0),
        ("days_to_first_client_added", -0.06, np.nan),
    ):
        contributions[names.index(name)], values[names.index(name)] = impact, value
    found = drivers(contributions, values, names, spec=spec)
    now = datetime.now(UTC)
    async with ctx.db.transaction() as session:
        await write_predictions(
            session,
            PredictionBatch(
                model_version="v0042",
                as_of=now.date(),
                horizon_days=60,
                horizon_end=now + timedelta(days=61),
                predicted_at=now,
                supplier_ids=[uuid.UUID(sid)],
                probabilities=[0.47],
                risk_bands=["high"],
                drivers=[list(as_logged(found))],
            ),
            rates=DEFAULT_RATES,
        )


async def _sign_in(page: Page, server: LiveServer) -> None:
    await page.goto(f"{server.url}/login")
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{server.url}/")


async def test_the_profile_explains_against_healthy_and_onboarding_is_not_critical(
    page: Page, live_server: LiveServer, db: AppContext
) -> None:
    quiet = await _supplier(
        live_server,
        ["login"] * 6 + ["client_added"] * 2 + ["payment_failed", "support_ticket_opened"],
        business_name="Hollow Oak Florals",
        signed_up_at="2025-03-01T09:00:00+00:00",
    )
    await _grouped_prediction(db, quiet)
    new = await _supplier(
        live_server,
        ["profile_completed"],
        business_name="First Light Studio",
        vendor_type="photographer",
        signed_up_at=(datetime.now(UTC) - timedelta(days=6)).isoformat(),
    )
    await _sign_in(page, live_server)

    await page.goto(f"{live_server.url}/suppliers/{quiet}")
    strengths, gaps = page.locator("#strengths"), page.locator("#gaps")
    await expect(page.get_by_role("heading", name="On track")).to_be_visible()
    await expect(gaps).to_contain_text("1 failed payment in the last 90 days")
    await expect(gaps).to_contain_text("1 support ticket opened in the last 30 days")
    await expect(strengths).not_to_contain_text("failed payment")
    await expect(strengths).not_to_contain_text("support ticket")
    await expect(
        page.get_by_role("heading", name="What would raise the score most")
    ).to_be_visible()
    first = page.locator("#improvements li").first
    await expect(first).to_contain_text("+")
    points = [
        float(t.strip().lstrip("+"))
        for t in await page.locator("#improvements li > .impact").all_text_contents()
    ]
    assert points
    assert points == sorted(points, reverse=True)

    chart = page.locator("#peer-context svg.peer-chart")
    await expect(chart).to_be_visible()
    await expect(chart.locator("rect.peer-bar")).to_have_count(10)
    await expect(chart.locator("rect.peer-bar.mine")).to_have_count(1)
    await expect(page.locator("#peer-context")).to_contain_text("florist suppliers")

    groups = page.locator("#churn-drivers > li")
    await expect(groups.first).to_contain_text("Logins")
    await expect(groups.first).to_contain_text("raise the risk")
    lines = groups.first.locator(".driver-lines")
    await expect(lines).to_be_hidden()  # folded until opened
    await groups.first.locator("summary").click()
    await expect(lines).to_contain_text("No login for 23 days")
    onboarding = page.locator('#churn-drivers [data-group="onboarding"]')
    await onboarding.locator("summary").click()
    await expect(onboarding).to_contain_text("lower the risk")
    await expect(onboarding).to_contain_text("Not yet: First client added")
    await shot(page, "explain-profile")

    await page.goto(f"{live_server.url}/suppliers/{new}")
    badge = page.locator("#risk-badge .badge")
    await expect(badge).to_have_text("Onboarding")
    await expect(page.locator("#score-card")).not_to_contain_text("Critical")
    progress = page.locator("#onboarding-progress")
    await expect(progress).to_contain_text("Day 7 of 30")
    await expect(progress).to_contain_text("1 of 4 onboarding milestones")
    await expect(progress.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "1")
    await shot(page, "explain-onboarding")

    await page.goto(f"{live_server.url}/suppliers")
    await page.get_by_label("Health risk level").select_option("onboarding")
    await page.get_by_role("button", name="Apply").click()
    # new suppliers have no churn prediction yet: the priority order says so and links on
    await page.get_by_role("link", name="sort by health score").first.click()
    row = page.locator("table.suppliers tbody tr", has_text="First Light Studio")
    await expect(row.locator(".health-cell")).to_contain_text("Onboarding")
    await expect(page.locator("table.suppliers")).not_to_contain_text("Hollow Oak Florals")
    await shot(page, "explain-onboarding-list")
