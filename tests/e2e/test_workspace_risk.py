"""One view of risk in a real browser: the suppliers list by priority and by churn
probability, filtered by the model's band, both risks labelled; a cancelled supplier's
profile says what is true of them.

The churn predictions are written into the shared live server's database for this module
only (no model is trained for the e2e population) and removed afterwards.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import delete, select

from tests.e2e.conftest import EMAIL, PASSWORD, LiveServer, shot
from wedsync_success.churn.models import ChurnPrediction, SupplierChurnCurrent
from wedsync_success.churn.repository import PredictionBatch, write_predictions
from wedsync_success.config import Settings
from wedsync_success.context import build_context
from wedsync_success.kit.currency import DEFAULT_RATES
from wedsync_success.suppliers.models import Supplier


def _batch(ids: list[uuid.UUID], probabilities: list[float], day: datetime) -> PredictionBatch:
    bands = ["high" if p >= 0.4 else "medium" if p >= 0.15 else "low" for p in probabilities]
    return PredictionBatch(
        model_version="e2e-v1",
        as_of=day.date(),
        horizon_days=60,
        horizon_end=day + timedelta(days=61),
        predicted_at=day,
        supplier_ids=ids,
        probabilities=probabilities,
        risk_bands=bands,
        drivers=[None] * len(ids),
    )


@pytest.fixture(scope="module")
async def predicted(live_server: LiveServer) -> AsyncIterator[uuid.UUID]:
    """Churn predictions for every current supplier, and one made for a cancelled supplier
    a few days before they left; yields that supplier's id."""
    ctx = build_context(Settings(database_url=live_server.database_url))
    now = datetime.now(UTC)
    try:
        async with ctx.db.transaction() as session:
            current = list(
                await session.scalars(
                    select(Supplier.id)
                    .where(Supplier.subscription_ended_at.is_(None))
                    .order_by(Supplier.id)
                )
            )
            left = (
                await session.execute(
                    select(Supplier.id, Supplier.subscription_ended_at)
                    .where(Supplier.subscription_ended_at.is_not(None))
                    .order_by(Supplier.subscription_ended_at.desc())
                    .limit(1)
                )
            ).one()
            rng = np.random.default_rng(5)
            probabilities = rng.beta(1.3, 5.0, size=len(current)).round(4).tolist()
            await write_predictions(
                session, _batch(current, probabilities, now), rates=DEFAULT_RATES
            )
            await write_predictions(
                session, _batch([left[0]], [0.83], left[1] - timedelta(days=4)), rates=DEFAULT_RATES
            )
        yield left[0]
    finally:
        async with ctx.db.transaction() as session:
            await session.execute(delete(SupplierChurnCurrent))
            await session.execute(
                delete(ChurnPrediction).where(ChurnPrediction.model_version == "e2e-v1")
            )
        await ctx.close()


async def _sign_in(page: Page, server: LiveServer, next_path: str) -> None:
    await page.goto(f"{server.url}{next_path}")
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def _numbers(page: Page, selector: str, attribute: str) -> list[float]:
    values = await page.locator(selector).evaluate_all(
        f"(nodes) => nodes.map((n) => n.getAttribute('{attribute}'))"
    )
    return [float(v) for v in values if v]


async def test_who_to_call_first(page: Page, live_server: LiveServer, predicted: uuid.UUID) -> None:
    await _sign_in(page, live_server, "/suppliers")
    await expect(page.get_by_label("Sort")).to_have_value("priority")  # the default
    table = page.locator("table.suppliers")
    await expect(table.get_by_role("columnheader", name="Health score")).to_be_visible()
    await expect(table.get_by_role("columnheader", name="Churn risk (model)")).to_be_visible()
    priority = table.get_by_role("link", name="Expected MRR lost")
    await expect(priority).to_have_attribute(
        "title", re.compile(r"probability of leaving .* × .*monthly recurring revenue")
    )
    await expect(page.locator("#risk-note")).to_contain_text("Health")
    await expect(page.locator("#risk-note")).to_contain_text("calibrated probability")
    losses = await _numbers(page, "td[data-expected-loss]", "data-expected-loss")
    assert len(losses) > 10
    assert losses == sorted(losses, reverse=True)
    first = table.locator("tbody tr").first
    await expect(first.locator(".health-cell .badge")).to_be_visible()  # the health band
    await expect(first.locator(".churn-cell .badge")).to_be_visible()  # the model's band
    await shot(page, "risk-priority")

    await page.get_by_label("Sort").select_option("-churn_probability")
    await page.get_by_role("button", name="Apply").click()
    await expect(page).to_have_url(re.compile(r".*sort=-churn_probability.*"))
    shown = await table.locator("[data-churn-probability]").all_inner_texts()
    percents = [float(text.rstrip("%")) for text in shown]
    assert percents == sorted(percents, reverse=True)
    await shot(page, "risk-churn-probability")

    await page.get_by_label("Churn risk (model)").select_option("high")
    await page.get_by_role("button", name="Apply").click()
    await expect(page).to_have_url(re.compile(r".*churn_band=high.*"))
    bands = await table.locator("tbody td[data-churn-band]").evaluate_all(
        "(nodes) => nodes.map((n) => n.dataset.churnBand)"
    )
    assert bands
    assert set(bands) == {"high"}
    await shot(page, "risk-band-high")


async def test_a_cancelled_supplier_says_what_is_true(
    page: Page, live_server: LiveServer, predicted: uuid.UUID
) -> None:
    await _sign_in(page, live_server, f"/suppliers/{predicted}")
    block = page.locator("#churn-prediction")
    await expect(block).to_have_attribute("data-churn-state", "cancelled")
    await expect(block).to_contain_text("Cancelled on")
    await expect(block).to_contain_text("as a customer")
    await expect(block).to_contain_text("Last health before leaving")
    await expect(block).to_contain_text("Last churn prediction before they left")
    await expect(block).to_contain_text("83%")
    await expect(block).not_to_contain_text("No churn prediction yet")
    await shot(page, "risk-cancelled-profile")
