"""The dashboard's reconciled view of risk without a churn model: the list's two labelled
columns, its priority default and churn filters; the profile's churn block when stale and
for a cancelled supplier; MRR at risk in the reporting currency on the overview."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import FakeClock
from tests.factories import event, supplier
from tests.helpers import create_supplier, ingest
from tests.web.signin import add_user, log_in
from wedsync_success.access.models import TeamRole
from wedsync_success.churn.repository import PredictionBatch, write_predictions
from wedsync_success.context import AppContext
from wedsync_success.kit.currency import DEFAULT_RATES


@pytest.fixture
async def signed_in(client: httpx.AsyncClient, ctx: AppContext, tmp_path: Path) -> None:
    ctx.settings.churn_registry = tmp_path / "no-models"  # no churn model is active
    await add_user(ctx, role=TeamRole.ADMIN)
    assert (await log_in(client)).status_code == 303


async def _predict(
    ctx: AppContext,
    sid: str,
    probability: float,
    band: str,
    *,
    as_of: Any,
    at: Any,
    drivers: list[dict[str, Any]] | None = None,
) -> None:
    async with ctx.db.transaction() as session:
        await write_predictions(
            session,
            PredictionBatch(
                model_version="v0003",
                as_of=as_of,
                horizon_days=60,
                horizon_end=at + timedelta(days=61),
                predicted_at=at,
                supplier_ids=[uuid.UUID(sid)],
                probabilities=[probability],
                risk_bands=[band],
                drivers=[drivers],
            ),
            rates=DEFAULT_RATES,
        )


async def test_the_list_shows_both_risks_labelled_and_sorts_by_priority(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, signed_in: None
) -> None:
    big = await create_supplier(client, business_name="Grand Hall Venue", mrr_minor=12900)
    small = await create_supplier(client, business_name="Tiny Cakes", mrr_minor=1900)
    euro = await create_supplier(
        client, business_name="Maison Fleur", currency="EUR", mrr_minor=5500
    )
    unscored = await create_supplier(client, business_name="Not Yet Scored Films")
    listing = (await client.get("/suppliers")).text
    assert 'value="score" selected' in listing  # nothing scored by the model: health order
    day = clock.now.date()
    await _predict(ctx, big, 0.2, "medium", as_of=day, at=clock.now)
    await _predict(ctx, small, 0.9, "high", as_of=day, at=clock.now)
    await _predict(ctx, euro, 0.5, "high", as_of=day, at=clock.now)

    listing = (await client.get("/suppliers")).text
    assert 'value="priority" selected' in listing  # the default once the model has scored
    assert "Health score" in listing
    assert "Churn risk (model)" in listing
    assert "Expected MRR lost" in listing
    assert "probability of leaving within its horizon" in listing  # what each one is
    assert "1 EUR = 0.8696 GBP" in listing  # the rates the priority uses
    # 0.2 x £129 = £25.80 first, then 0.5 x €55 = £23.91, then 0.9 x £19 = £17.10
    order = [listing.index(name) for name in ("Grand Hall", "Maison Fleur", "Tiny Cakes")]
    assert order == sorted(order)
    assert "£25.80" in listing
    assert "£23.91" in listing
    assert "£17.10" in listing
    assert "Not Yet Scored Films" not in listing  # no prediction: not in the priority order

    by_model = (await client.get("/suppliers", params={"sort": "-churn_probability"})).text
    order = [by_model.index(name) for name in ("Tiny Cakes", "Maison Fleur", "Grand Hall")]
    assert order == sorted(order)
    high = (await client.get("/suppliers", params={"churn_band": "high", "sort": "name"})).text
    assert "Tiny Cakes" in high
    assert "Maison Fleur" in high
    assert "Grand Hall" not in high
    ranged = (await client.get("/suppliers", params={"churn_min": "40", "churn_max": "60"})).text
    assert "Maison Fleur" in ranged
    assert "Tiny Cakes" not in ranged
    everyone = (await client.get("/suppliers", params={"sort": "score"})).text
    assert "Not Yet Scored Films" in everyone
    assert "not scored yet" in everyone
    assert unscored


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"churn_band": "purple"}, "churn_band"),
        ({"churn_min": "150"}, "churn_min must be a percentage"),
        ({"churn_min": "60", "churn_max": "20"}, "range is empty"),
    ],
)
async def test_bad_churn_filters_are_explained(
    client: httpx.AsyncClient, signed_in: None, params: dict[str, str], says: str
) -> None:
    response = await client.get("/suppliers", params=params)
    assert response.status_code == 422
    assert says in response.text


async def test_a_currency_without_a_rate_is_left_out_of_the_priority_and_said_so(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, signed_in: None
) -> None:
    sid = await create_supplier(client, business_name="Kyoto Frames", currency="JPY")
    await _predict(ctx, sid, 0.7, "high", as_of=clock.now.date(), at=clock.now)
    listing = (await client.get("/suppliers", params={"sort": "priority"})).text
    assert "Not in this order: 1 in JPY" in listing
    assert "Kyoto Frames" not in listing
    other = (await client.get("/suppliers", params={"sort": "-churn_probability"})).text
    assert "Kyoto Frames" in other
    assert "not converted" in other


async def test_a_stale_prediction_says_since_when_when_it_cannot_be_refreshed(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, signed_in: None
) -> None:
    sid = await create_supplier(client, business_name="Late Light Studio")
    await _predict(
        ctx,
        sid,
        0.52,
        "high",
        as_of=clock.now.date() - timedelta(days=1),
        at=clock.now - timedelta(hours=6),
        drivers=[
            {
                "feature": "days_to_first_client_added",
                "value": None,
                "impact": 0.4,
                "text": "has not reached 'First client added'",
                "direction": "up",
            }
        ],
    )
    page = (await client.get(f"/suppliers/{sid}")).text
    assert 'data-churn-state="logged"' in page
    assert "features as of" in page
    assert "no activity since" in page
    await ingest(client, [event(sid, "login", clock.now - timedelta(minutes=5))])
    page = (await client.get(f"/suppliers/{sid}")).text
    assert 'data-churn-state="stale"' in page
    assert f"Stale since {clock.now - timedelta(minutes=5):%d %b %Y, %H:%M} UTC" in page
    assert "a fresh one could not be computed" in page
    assert "churn train" in page  # why: no model is active, and what to do


async def test_a_cancelled_supplier_is_told_what_is_true(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, signed_in: None
) -> None:
    signed = clock.now - timedelta(days=400)
    sid = await create_supplier(
        client, business_name="Gone Gardens", signed_up_at=signed.isoformat()
    )
    await ingest(
        client, [event(sid, "login", clock.now - timedelta(days=d)) for d in range(3, 30, 3)]
    )
    left = clock.now - timedelta(days=1)
    await ingest(
        client,
        [
            event(
                sid,
                "subscription_cancelled",
                left,
                properties={"reason": "retiring from weddings"},
            )
        ],
    )
    page = (await client.get(f"/suppliers/{sid}")).text
    assert "No churn prediction yet" not in page
    assert "churn score" not in page
    assert 'data-churn-state="cancelled"' in page
    assert f"Cancelled on {left:%d %b %Y} (retiring from weddings)" in page
    assert "after 13 months as a customer" in page
    assert "Last health before leaving: <strong>" in page
    assert "No churn prediction was made before they left." in page

    await _predict(
        ctx, sid, 0.81, "high", as_of=(left - timedelta(days=5)).date(), at=left - timedelta(days=4)
    )
    page = (await client.get(f"/suppliers/{sid}")).text
    assert "Last churn prediction before they left" in page
    assert "data-churn-probability>81%<" in page
    assert "It saw it coming" in page
    await _predict(
        ctx, sid, 0.04, "low", as_of=(left - timedelta(days=2)).date(), at=left - timedelta(days=1)
    )
    page = (await client.get(f"/suppliers/{sid}")).text
    assert "It did not see it coming: it rated them low risk" in page


async def test_the_overview_totals_mrr_at_risk_in_the_reporting_currency(
    client: httpx.AsyncClient, ctx: AppContext, signed_in: None
) -> None:
    items = [
        supplier(currency="GBP", mrr_minor=4900),
        supplier(currency="EUR", mrr_minor=5500),
        supplier(currency="JPY", mrr_minor=3000),
    ]
    response = await client.post("/api/v1/suppliers", json={"suppliers": items})
    assert response.status_code == 200  # never active: all three are critical on health
    report = (await client.get("/api/v1/reports/overview")).json()
    total = report["mrr_at_risk"]
    assert report["mrr_at_risk_minor"] == {"EUR": 5500, "GBP": 4900, "JPY": 3000}
    assert total["currency"] == "GBP"
    assert total["total_minor"] == 4900 + round(5500 * 0.8696)
    assert total["rates"] == {"EUR": 0.8696}
    assert total["not_converted_minor"] == {"JPY": 3000}
    page = (await client.get("/")).text
    assert f'data-mrr-total="{total["total_minor"]}"' in page
    assert "1 EUR = 0.8696 GBP" in page
    assert "Not converted (no rate)" in page
    assert "JPY 30" in page
