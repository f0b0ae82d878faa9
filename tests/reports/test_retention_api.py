"""GET /api/v1/reports/retention: the service's report over HTTP, its refusals naming the
field, and its scopes. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reports.histories import P, Row, day, store
from wedsync_success.context import AppContext
from wedsync_success.reports.retention import retention_report
from wedsync_success.reports.windows import MAX_PERIODS, ReportPeriod

URL = "/api/v1/reports/retention"


async def test_the_report_over_http_is_the_service_report(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    await store(
        ctx,
        {
            "stays": [P("professional", day(2025, 12), None, 4900)],
            "leaves": [P("starter", day(2025, 12), day(2026, 2), 1900, currency="EUR")],
            "row_only": Row(day(2025, 6), None, 2900, currency="USD"),
        },
    )
    params = {"from": "2026-01-01", "to": "2026-03-01", "period": "month", "currency": "EUR"}
    response = await client.get(URL, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    async with ctx.db.sessions() as session:
        expected = await retention_report(
            session=session,
            start=date(2026, 1, 1),
            end=date(2026, 3, 1),
            period=ReportPeriod.MONTH,
            rates=ctx.settings.rates,
            currency="EUR",
        )
    assert body == expected.model_dump(mode="json")
    jan = body["periods"][0]
    assert (jan["active_at_start"], jan["churned"], jan["active_at_end"]) == (3, 1, 2)
    assert body["reporting_currency"] == "EUR"
    assert body["suppliers_without_history"] == 1


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"from": "2026-13-01", "to": "2026-02-01"}, "from", "YYYY-MM-DD"),
        ({"from": "2026-01-01", "to": "yesterday"}, "to", "YYYY-MM-DD"),
        ({"to": "2026-02-01"}, "from", ""),
        ({"from": "2026-02-01", "to": "2026-02-01"}, "to", "must be after from"),
        ({"from": "2026-03-01", "to": "2026-02-01"}, "to", "must be after from"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "to", f"at most {MAX_PERIODS} periods"),
        ({"from": "2026-01-01", "to": "2026-03-01", "period": "day"}, "period", ""),
        ({"from": "2026-01-01", "to": "2026-03-01", "currency": "eur"}, "currency", ""),
        ({"from": "2026-01-01", "to": "2026-03-01", "currency": "CHF"}, "currency", "no rate"),
    ],
)
async def test_bad_requests_are_refused_naming_the_field(
    client: httpx.AsyncClient, params: dict[str, str], field: str, reason: str
) -> None:
    response = await client.get(URL, params=params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    [detail] = error["details"]
    assert detail["field"] == field
    assert reason in detail["reason"]


async def test_it_needs_a_read_key(client: httpx.AsyncClient, api_keys: dict[str, str]) -> None:
    params = {"from": "2026-01-01", "to": "2026-02-01"}
    anonymous = await client.get(URL, params=params, headers={"Authorization": ""})
    assert anonymous.status_code == 401
    ingest = await client.get(
        URL, params=params, headers={"Authorization": f"Bearer {api_keys['ingest']}"}
    )
    assert ingest.status_code == 403
    read = await client.get(
        URL, params=params, headers={"Authorization": f"Bearer {api_keys['read']}"}
    )
    assert read.status_code == 200


query_values = st.one_of(
    st.text(max_size=30),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)).map(date.isoformat),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "from": query_values,
            "to": query_values,
            "period": st.one_of(st.sampled_from(["week", "month", "quarter"]), st.text(max_size=8)),
            "currency": st.one_of(st.sampled_from(["GBP", "EUR", "XYZ"]), st.text(max_size=5)),
        },
    )
)
async def test_hostile_parameters_get_a_report_or_a_named_refusal(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    response = await client.get(URL, params=params)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        details = response.json()["error"]["details"]
        assert {d["field"] for d in details} <= {"from", "to", "period", "currency"}
    else:
        assert len(response.json()["periods"]) <= MAX_PERIODS
