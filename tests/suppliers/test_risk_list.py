"""The suppliers list by the churn model: sorts by priority (expected MRR lost) and churn
probability, churn filters, keyset pages that add up to the whole sorted list, on both
backends, through the service the API and the dashboard share."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.factories import supplier
from wedsync_success.churn import repository
from wedsync_success.churn.models import SupplierChurnCurrent
from wedsync_success.context import AppContext
from wedsync_success.kit.currency import DEFAULT_RATES
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.suppliers.repository import SupplierFilters
from wedsync_success.suppliers.service import list_suppliers

DAY = date(2026, 6, 14)
NOW = datetime(2026, 6, 15, 6, 0, tzinfo=UTC)
# (currency, MRR): JPY has no default rate, so its expected loss is not converted.
BILLING = [("GBP", 4900), ("GBP", 1900), ("EUR", 5500), ("USD", 12500), ("AUD", 0), ("JPY", 5000)]


async def _population(client: httpx.AsyncClient, n: int = 12) -> list[uuid.UUID]:
    """``n`` scored suppliers (POST /suppliers scores them), billed as in :data:`BILLING`."""
    items = [
        supplier(currency=BILLING[i % len(BILLING)][0], mrr_minor=BILLING[i % len(BILLING)][1])
        for i in range(n)
    ]
    response = await client.post("/api/v1/suppliers", json={"suppliers": items})
    assert response.status_code == 200, response.text
    return sorted(uuid.UUID(i["id"]) for i in items)


def _batch(ids: list[uuid.UUID], probabilities: list[float], bands: list[str]) -> Any:
    return repository.PredictionBatch(
        model_version="v1",
        as_of=DAY,
        horizon_days=60,
        horizon_end=NOW + timedelta(days=60),
        predicted_at=NOW,
        supplier_ids=ids,
        probabilities=probabilities,
        risk_bands=bands,
        drivers=[None] * len(ids),
    )


async def _predict(ctx: AppContext, ids: list[uuid.UUID], probabilities: list[float]) -> None:
    bands = ["high" if p >= 0.5 else "medium" if p >= 0.2 else "low" for p in probabilities]
    async with ctx.db.transaction() as session:
        await repository.write_predictions(
            session, _batch(ids, probabilities, bands), rates=DEFAULT_RATES
        )


async def _pages(ctx: AppContext, filters: SupplierFilters, sort: str, limit: int) -> list[Any]:
    items, cursor = [], None
    async with ctx.db.sessions() as session:
        while True:
            page = await list_suppliers(
                session=session,
                filters=filters,
                reporting_currency="GBP",
                sort=sort,
                cursor=cursor,
                limit=limit,
            )
            items += page.items
            cursor = page.next_cursor
            if cursor is None:
                return items
            assert len(page.items) == limit


async def _current(ctx: AppContext) -> list[SupplierChurnCurrent]:
    async with ctx.db.sessions() as session:
        return list((await session.scalars(select(SupplierChurnCurrent))).all())


def _expected(rows: list[SupplierChurnCurrent], filters: SupplierFilters, sort: str) -> list[Any]:
    kept = [
        r
        for r in rows
        if (filters.churn_band is None or r.risk_band == filters.churn_band)
        and (filters.churn_min is None or r.probability >= filters.churn_min)
        and (filters.churn_max is None or r.probability <= filters.churn_max)
        and (sort != "priority" or r.expected_mrr_loss_minor is not None)
    ]
    if sort == "priority":
        kept.sort(key=lambda r: (-(r.expected_mrr_loss_minor or 0), r.supplier_id))
    elif sort == "-churn_probability":
        kept.sort(key=lambda r: (-r.probability, r.supplier_id))
    else:
        kept.sort(key=lambda r: (r.probability, r.supplier_id))
    return [r.supplier_id for r in kept]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_pages_add_up_to_the_whole_sorted_list(
    client: httpx.AsyncClient, ctx: AppContext, data: st.DataObject
) -> None:
    async with ctx.db.sessions() as session:
        known = sorted(await session.scalars(select(SupplierChurnCurrent.supplier_id)))
    ids = known or await _population(client)
    # Few distinct probabilities, so ties (broken by id) are common.
    probabilities = data.draw(
        st.lists(
            st.sampled_from([0.03, 0.1, 0.1, 0.25, 0.5, 0.5, 0.91]),
            min_size=len(ids),
            max_size=len(ids),
        ),
        label="probabilities",
    )
    await _predict(ctx, ids, probabilities)
    sort = data.draw(st.sampled_from(["priority", "-churn_probability", "churn_probability"]))
    low = data.draw(st.none() | st.sampled_from([0.0, 0.1, 0.3]), label="churn_min")
    high = data.draw(st.none() | st.sampled_from([0.25, 0.5, 1.0]), label="churn_max")
    filters = SupplierFilters(
        churn_band=data.draw(st.none() | st.sampled_from(["low", "medium", "high"])),
        churn_min=low,
        churn_max=high if low is None or high is None or high >= low else None,
    )
    limit = data.draw(st.integers(1, 5), label="limit")
    pages = await _pages(ctx, filters, sort, limit)
    assert [item.id for item in pages] == _expected(await _current(ctx), filters, sort)
    assert len({item.id for item in pages}) == len(pages)  # never a supplier twice


async def test_priority_is_probability_times_mrr_in_the_reporting_currency(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    ids = await _population(client, n=6)
    await _predict(ctx, ids, [0.5] * 6)
    items = await _pages(ctx, SupplierFilters(), "priority", 50)
    by_currency = {(i.currency, i.mrr_minor): i.churn for i in items}
    assert by_currency[("GBP", 4900)].expected_mrr_loss_minor == 2450
    assert by_currency[("EUR", 5500)].expected_mrr_loss_minor == round(0.5 * 5500 * 0.8696)
    assert by_currency[("USD", 12500)].expected_mrr_loss_minor == round(0.5 * 12500 * 0.7692)
    assert by_currency[("AUD", 0)].expected_mrr_loss_minor == 0  # free: nothing to lose
    assert all(c.expected_mrr_loss_currency == "GBP" for c in by_currency.values())
    # The JPY supplier has no rate: not converted, so not in the priority order (never as 0)...
    assert ("JPY", 5000) not in by_currency
    [jpy] = [r for r in await _current(ctx) if r.expected_mrr_loss_minor is None]
    # ...but still listed, with its churn probability, under the other sorts.
    listed = await _pages(ctx, SupplierFilters(), "-churn_probability", 50)
    assert jpy.supplier_id in [i.id for i in listed]
    assert [i.churn.expected_mrr_loss_minor for i in listed if i.id == jpy.supplier_id] == [None]
    order = [i.churn.expected_mrr_loss_minor for i in items]
    assert order == sorted(order, reverse=True)


async def test_priority_follows_an_mrr_change_after_scoring(
    client: httpx.AsyncClient, ctx: AppContext, clock: Any
) -> None:
    """Scored first, then the supplier moves plan (a subscription event) and is updated
    (POST /suppliers): the stored expected loss follows both, without rescoring."""
    ids = await _population(client, n=2)
    await _predict(ctx, ids, [0.4, 0.2])
    before = {r.supplier_id: r.expected_mrr_loss_minor for r in await _current(ctx)}
    low, high = (ids[0], ids[1]) if before[ids[0]] < before[ids[1]] else (ids[1], ids[0])
    response = await client.post(
        "/api/v1/events",
        json={
            "events": [
                {
                    "event_id": "upgrade-1",
                    "supplier_id": str(low),
                    "type": "subscription_changed",
                    "occurred_at": clock.now.isoformat(),
                    "properties": {"mrr_minor": 990000, "currency": "GBP"},
                }
            ]
        },
    )
    assert response.status_code == 200, response.text
    after = {r.supplier_id: r.expected_mrr_loss_minor for r in await _current(ctx)}
    probability = {r.supplier_id: r.probability for r in await _current(ctx)}
    assert after[low] == round(probability[low] * 990000)
    assert after[high] == before[high]
    items = await _pages(ctx, SupplierFilters(), "priority", 50)
    assert items[0].id == low  # now the one to call first

    update = supplier(id=str(low), currency="EUR", mrr_minor=100)
    response = await client.post("/api/v1/suppliers", json={"suppliers": [update]})
    assert response.status_code == 200, response.text
    [row] = [r for r in await _current(ctx) if r.supplier_id == low]
    assert row.expected_mrr_loss_minor == round(probability[low] * 100 * 0.8696)
    assert row.probability == probability[low]  # repriced, not rescored


async def test_an_empty_churn_range_says_why(ctx: AppContext) -> None:
    async with ctx.db.sessions() as session:
        with pytest.raises(ValidationFailed) as err:
            await list_suppliers(
                session=session,
                filters=SupplierFilters(churn_min=0.6, churn_max=0.2),
                reporting_currency="GBP",
            )
    assert "range is empty" in err.value.message
    assert err.value.details[0]["field"] == "churn_probability_min"


async def test_the_api_lists_both_risks_and_filters_by_the_model(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    ids = await _population(client, n=6)
    await _predict(ctx, ids, [0.9, 0.6, 0.3, 0.15, 0.05, 0.02])
    body = (
        await client.get(
            "/api/v1/suppliers",
            params={"sort": "-churn_probability", "churn_band": "high", "limit": 10},
        )
    ).json()
    assert [i["churn"]["probability"] for i in body["items"]] == [0.9, 0.6]
    first = body["items"][0]
    assert first["health"]["risk_level"]  # the health band, beside the model's
    assert first["churn"]["risk_band"] == "high"
    assert first["churn"]["as_of"] == DAY.isoformat()
    ranged = (
        await client.get(
            "/api/v1/suppliers",
            params={
                "sort": "churn_probability",
                "churn_probability_min": 0.05,
                "churn_probability_max": 0.3,
            },
        )
    ).json()
    assert [i["churn"]["probability"] for i in ranged["items"]] == [0.05, 0.15, 0.3]
    plain = (await client.get("/api/v1/suppliers", params={"sort": "score"})).json()
    assert len(plain["items"]) == 6
    bad = await client.get("/api/v1/suppliers", params={"churn_band": "purple"})
    assert bad.status_code == 422
    empty = await client.get(
        "/api/v1/suppliers", params={"churn_probability_min": 0.5, "churn_probability_max": 0.1}
    )
    assert empty.status_code == 422
    assert empty.json()["error"]["details"][0]["field"] == "churn_probability_min"


async def test_suppliers_never_scored_by_the_model_are_listed_without_it(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    ids = await _population(client, n=3)
    await _predict(ctx, ids[:1], [0.4])
    everyone = (await client.get("/api/v1/suppliers")).json()["items"]
    assert len(everyone) == 3
    assert sum(i["churn"] is None for i in everyone) == 2
    by_churn = (await client.get("/api/v1/suppliers", params={"sort": "priority"})).json()
    assert [i["id"] for i in by_churn["items"]] == [str(ids[0])]
