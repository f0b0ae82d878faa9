"""NPS and CSAT on a small hand-computed set, on both backends: by month, by ISO week, by
segment, windows that clip their periods, the UTC boundary and an empty period."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from tests.helpers import create_supplier
from wedsync_success.context import AppContext
from wedsync_success.reports.windows import ReportPeriod
from wedsync_success.surveys.metrics import csat_of, nps_of, period_bounds
from wedsync_success.surveys.schemas import ResponseSource
from wedsync_success.surveys.service import record_responses

A = {"vendor_type": "florist", "country": "GB", "plan_tier": "professional"}
B = {"vendor_type": "photographer", "country": "US", "plan_tier": "starter"}

# (supplier, kind, score, responded_at)
DATA = [
    ("A", "nps", 10, "2026-01-05T09:00:00Z"),
    ("A", "nps", 9, "2026-01-20T09:00:00Z"),
    ("B", "nps", 3, "2026-01-25T18:00:00Z"),  # a Sunday: the week of Monday 19 January
    ("B", "nps", 7, "2026-01-31T23:59:00Z"),
    ("A", "nps", 6, "2026-01-31T22:00:00-02:00"),  # 1 February 00:00 UTC: February
    ("B", "nps", 10, "2026-02-14T12:00:00Z"),
    ("A", "nps", 10, "2026-04-01T00:00:00Z"),  # the first instant after the window
    ("A", "csat", 5, "2026-01-02T10:00:00Z"),
    ("A", "csat", 4, "2026-01-03T10:00:00Z"),
    ("B", "csat", 3, "2026-01-04T10:00:00Z"),
    ("B", "csat", 1, "2026-01-05T10:00:00Z"),
    ("B", "csat", 2, "2026-02-05T10:00:00Z"),
]


@pytest.fixture
async def answered(client: httpx.AsyncClient, ctx: AppContext) -> None:
    ids = {"A": await create_supplier(client, **A), "B": await create_supplier(client, **B)}
    items = [
        {
            "response_id": f"g{n}",
            "kind": kind,
            "score": score,
            "supplier_id": ids[who],
            "responded_at": at,
        }
        for n, (who, kind, score, at) in enumerate(DATA)
    ]
    async with ctx.db.transaction() as session:
        result = await record_responses(
            session=session,
            items=items,
            source=ResponseSource.IMPORT,
            max_batch_size=100,
            now=ctx.clock(),
        )
    assert result.accepted == len(DATA), result.errors


def test_the_definitions() -> None:
    assert nps_of(2, 1, 4) == 25.0
    assert nps_of(0, 3, 3) == -100.0
    assert nps_of(0, 0, 0) is None
    assert csat_of(2, 5) == 40.0
    assert csat_of(0, 0) is None


def test_periods_are_calendar_periods_clipped_to_the_window() -> None:
    assert period_bounds(date(2026, 1, 10), date(2026, 3, 5), ReportPeriod.MONTH) == [
        (date(2026, 1, 1), date(2026, 1, 10), date(2026, 2, 1)),
        (date(2026, 2, 1), date(2026, 2, 1), date(2026, 3, 1)),
        (date(2026, 3, 1), date(2026, 3, 1), date(2026, 3, 5)),
    ]
    assert period_bounds(date(2025, 12, 1), date(2026, 1, 1), ReportPeriod.MONTH)[-1][2] == date(
        2026, 1, 1
    )
    weeks = period_bounds(date(2026, 1, 1), date(2026, 1, 15), ReportPeriod.WEEK)
    assert [w[0] for w in weeks] == [date(2025, 12, 29), date(2026, 1, 5), date(2026, 1, 12)]


@pytest.mark.usefixtures("answered")
async def test_nps_by_month(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/reports/nps?from=2026-01-01&to=2026-04-01")).json()
    assert body["from"] == "2026-01-01"
    months = [(p["start"], p["end"], p["total"]) for p in body["periods"]]
    assert [(s, e) for s, e, _ in months] == [
        ("2026-01-01", "2026-02-01"),
        ("2026-02-01", "2026-03-01"),
        ("2026-03-01", "2026-04-01"),
    ]
    jan, feb, mar = (t for _, _, t in months)
    assert (jan["responses"], jan["promoters"], jan["passives"], jan["detractors"]) == (4, 2, 1, 1)
    assert jan["nps"] == 25.0
    assert (feb["responses"], feb["promoters"], feb["detractors"], feb["nps"]) == (2, 1, 1, 0.0)
    assert (mar["responses"], mar["nps"]) == (0, None)
    total = body["total"]
    assert (total["responses"], total["promoters"], total["detractors"]) == (6, 3, 2)
    assert total["nps"] == pytest.approx(100 / 6)
    assert body["segments"] == []


@pytest.mark.usefixtures("answered")
async def test_nps_by_week_and_by_segment(client: httpx.AsyncClient) -> None:
    weeks = (
        await client.get("/api/v1/reports/nps?from=2026-01-05&to=2026-02-16&period=week")
    ).json()["periods"]
    by_start = {p["start"]: (p["total"]["responses"], p["total"]["nps"]) for p in weeks}
    assert by_start == {
        "2026-01-05": (1, 100.0),
        "2026-01-12": (0, None),
        "2026-01-19": (2, 0.0),
        "2026-01-26": (2, -50.0),  # 7 on Saturday 31 January and 6 on Sunday 1 February
        "2026-02-02": (0, None),
        "2026-02-09": (1, 100.0),
    }
    body = (
        await client.get("/api/v1/reports/nps?from=2026-01-01&to=2026-04-01&by=vendor_type")
    ).json()
    segments = {s["segment"]: (s["responses"], s["nps"]) for s in body["segments"]}
    assert segments["florist"] == (3, pytest.approx(100 / 3))
    assert segments["photographer"] == (3, 0.0)
    jan = body["periods"][0]
    assert {s["segment"]: s["nps"] for s in jan["segments"]} == {
        "florist": 100.0,
        "photographer": -50.0,
    }
    assert jan["total"]["nps"] == 25.0
    plans = (await client.get("/api/v1/reports/nps?from=2026-01-01&to=2026-04-01&by=plan")).json()
    assert {s["segment"] for s in plans["segments"]} == {"professional", "starter"}


def test_quarters_are_calendar_quarters() -> None:
    quarters = period_bounds(date(2025, 11, 15), date(2026, 5, 1), ReportPeriod.QUARTER)
    assert quarters == [
        (date(2025, 10, 1), date(2025, 11, 15), date(2026, 1, 1)),
        (date(2026, 1, 1), date(2026, 1, 1), date(2026, 4, 1)),
        (date(2026, 4, 1), date(2026, 4, 1), date(2026, 5, 1)),
    ]


@pytest.mark.usefixtures("answered")
async def test_nps_by_quarter_adds_up_its_months(client: httpx.AsyncClient) -> None:
    body = (
        await client.get("/api/v1/reports/nps?from=2025-10-01&to=2026-07-01&period=quarter")
    ).json()
    counts = [(p["start"], p["total"]["responses"], p["total"]["nps"]) for p in body["periods"]]
    assert counts == [
        ("2025-10-01", 0, None),
        ("2026-01-01", 6, pytest.approx(100 / 6)),
        ("2026-04-01", 1, 100.0),  # 1 April 00:00 UTC
    ]


@pytest.mark.usefixtures("answered")
async def test_a_window_clips_its_first_and_last_month(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/reports/nps?from=2026-01-10&to=2026-02-10")).json()
    (jan, feb) = body["periods"]
    assert (jan["start"], jan["total"]["responses"], jan["total"]["nps"]) == ("2026-01-10", 3, 0.0)
    assert (feb["end"], feb["total"]["responses"], feb["total"]["nps"]) == ("2026-02-10", 1, -100.0)


@pytest.mark.usefixtures("answered")
async def test_csat_by_month_and_country(client: httpx.AsyncClient) -> None:
    body = (
        await client.get("/api/v1/reports/csat?from=2026-01-01&to=2026-03-01&by=country")
    ).json()
    jan, feb = (p["total"] for p in body["periods"])
    assert (jan["responses"], jan["satisfied"], jan["csat"]) == (4, 2, 50.0)
    assert (feb["responses"], feb["satisfied"], feb["csat"]) == (1, 0, 0.0)
    assert (body["total"]["responses"], body["total"]["csat"]) == (5, 40.0)
    assert {s["segment"]: s["csat"] for s in body["segments"]} == {"GB": 100.0, "US": 0.0}


async def test_report_parameters_are_checked(client: httpx.AsyncClient) -> None:
    base = "/api/v1/reports/nps"
    assert (await client.get(f"{base}?from=2026-02-01&to=2026-01-01")).status_code == 422
    assert (await client.get(f"{base}?from=2026-01-01")).status_code == 422
    assert (await client.get(f"{base}?from=2026-01-01&to=2026-02-01&by=colour")).status_code == 422
    assert (await client.get(f"{base}?from=2026-01-01&to=2026-02-01&period=day")).status_code == 422
    assert (
        await client.get(f"{base}?from=2000-01-01&to=2099-12-31&period=week")
    ).status_code == 422
