"""The history report routes: scopes, the same numbers as the services, and fields named in
every refusal (bad days, unknown breakdowns, ranges that end before they start)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reports.history import period_row, store, supplier_row
from wedsync_success.context import AppContext

ROUTES = ("cohorts", "survival", "ltv", "churn-breakdown")
EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def _history(ctx: AppContext) -> None:
    a = supplier_row("2026-01-10", acquisition_channel="referral")
    b = supplier_row("2026-01-20", ended="2026-03-01", mrr=2000, cancellation_reason="price")
    c = supplier_row("2026-02-05")
    await store(ctx, [a, b, c], [period_row(c, "2026-02-05", None, mrr=3000, currency="EUR")])


async def test_cohorts_by_channel_and_revenue(ctx: AppContext, client: httpx.AsyncClient) -> None:
    await _history(ctx)
    response = await client.get(
        "/api/v1/reports/cohorts",
        params={"from": "2026-01-01", "to": "2026-02-28", "by": "acquisition_channel"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["reporting"]["currency"] == "GBP"
    rows = {r["key"]: r for r in body["rows"]}
    assert set(rows) == {"referral", "unknown"}
    # b leaves at 1 March; c's EUR is converted at the stated rate.
    unknown = rows["unknown"]
    assert unknown["start_mrr_minor"] == 2000 + round(3000 * body["reporting"]["rates"]["EUR"])
    assert [c["active"] for c in unknown["cells"]][:3] == [2, 2, 1]
    revenue = await client.get(
        "/api/v1/reports/cohorts", params={"from": "2026-01-01", "metric": "revenue"}
    )
    assert revenue.status_code == 200
    assert revenue.json()["metric"] == "revenue"


async def test_each_route_answers_with_the_defaults(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    await _history(ctx)
    for route in ROUTES:
        response = await client.get(f"/api/v1/reports/{route}")
        assert response.status_code == 200, (route, response.text)
    ltv = (await client.get("/api/v1/reports/ltv")).json()
    assert ltv["gross_margin"] == 0.8  # the configured default, stated
    breakdown = await client.get(
        "/api/v1/reports/churn-breakdown",
        params={"from": "2026-02-15", "to": "2026-03-14", "by": "cancellation_reason"},
    )
    assert [(r["key"], r["churned"]) for r in breakdown.json()["rows"]] == [("price", 1)]


@pytest.mark.parametrize("route", ROUTES)
async def test_read_scope_is_required(
    client: httpx.AsyncClient, api_keys: dict[str, str], route: str
) -> None:
    url = f"/api/v1/reports/{route}"
    ingest = await client.get(url, headers={"Authorization": f"Bearer {api_keys['ingest']}"})
    assert ingest.status_code == 403
    read = await client.get(url, headers={"Authorization": f"Bearer {api_keys['read']}"})
    assert read.status_code == 200
    assert (await client.get(url, headers={"Authorization": ""})).status_code == 401


@pytest.mark.parametrize(
    ("route", "params", "field"),
    [
        ("cohorts", {"from": "2026-13-01"}, "from"),
        ("cohorts", {"by": "star_sign"}, "by"),
        ("cohorts", {"metric": "happiness"}, "metric"),
        ("cohorts", {"from": "2026-03-01", "to": "2026-01-01"}, "to"),
        ("survival", {"by": "signup_month"}, "by"),
        ("survival", {"from": "2026-03-01", "to": "2026-01-01"}, "to"),
        ("ltv", {"from": "2026-05-01", "to": "2026-01-01"}, "to"),
        ("ltv", {"supplier_limit": "-1"}, "supplier_limit"),
        ("churn-breakdown", {"by": "mood"}, "by"),
        ("churn-breakdown", {"to": "1999-12-31"}, "to"),
        ("churn-breakdown", {"from": "2026-06-20", "to": "2026-06-01"}, "to"),
        # More than 240 months: the months table of the query would pass SQLite's limit.
        ("ltv", {"from": "2026-10-19", "to": "2082-06-09", "as_of": "2074-08-30"}, "to"),
        ("cohorts", {"from": "2000-01-01", "to": "2020-01-01"}, "to"),
        ("churn-breakdown", {"from": "2000-01-01", "to": "2026-01-01"}, "to"),
        # Only `from` given, the default `to` does not fit it: `from` is what to change.
        ("cohorts", {"from": "2000-01-01"}, "from"),
        ("ltv", {"from": "2100-01-01"}, "from"),
        ("churn-breakdown", {"from": "1990-01-01"}, "from"),
    ],
)
async def test_refusals_name_the_field(
    client: httpx.AsyncClient, route: str, params: dict[str, str], field: str
) -> None:
    response = await client.get(f"/api/v1/reports/{route}", params=params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in [d["field"] for d in error["details"]]


_text = st.one_of(
    st.text(max_size=12),
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["signup_month", "plan", "tenure_band", "all", "country", "-1", "0"]),
)


@EXAMPLES
@given(
    route=st.sampled_from(ROUTES),
    params=st.dictionaries(
        st.sampled_from(
            ["from", "to", "by", "metric", "max_age", "as_of", "horizon_months", "supplier_limit"]
        ),
        _text,
        max_size=4,
    ),
)
async def test_any_parameters_are_answered_or_refused_by_name(
    client: httpx.AsyncClient, route: str, params: dict[str, Any]
) -> None:
    response = await client.get(f"/api/v1/reports/{route}", params=params)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        details = response.json()["error"]["details"]
        assert details
        assert all(d["field"] in params for d in details), details
