"""The overview report: churn by month follows the project's definition."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.context import AppContext
from wedsync_success.kit.currency import DEFAULT_RATES
from wedsync_success.reports.snapshots import OverviewSnapshots


async def test_monthly_logo_churn_and_risk_counts(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    # The clock is 15 June 2026.
    for _ in range(3):
        await create_supplier(client, signed_up_at="2026-01-05T00:00:00+00:00")
    await create_supplier(  # active on 1 May, left in May: churn for May
        client,
        signed_up_at="2026-01-05T00:00:00+00:00",
        subscription_status="cancelled",
        subscription_ended_at="2026-05-20T00:00:00+00:00",
    )
    await create_supplier(  # left in June: churn so far this month
        client,
        signed_up_at="2026-02-01T00:00:00+00:00",
        subscription_status="cancelled",
        subscription_ended_at="2026-06-02T00:00:00+00:00",
    )
    await create_supplier(  # joined and left within May: not active at the start of May
        client,
        signed_up_at="2026-05-03T00:00:00+00:00",
        subscription_status="cancelled",
        subscription_ended_at="2026-05-25T00:00:00+00:00",
    )
    report = (await client.get("/api/v1/reports/overview")).json()
    months = {m["month"]: m for m in report["churn_by_month"]}
    assert (months["2026-05-01"]["active_at_start"], months["2026-05-01"]["churned"]) == (5, 1)
    assert months["2026-05-01"]["rate"] == 0.2
    assert months["2026-05-01"]["complete"] is True
    assert report["churn_this_month"] == {
        "month": "2026-06-01",
        "active_at_start": 4,
        "churned": 1,
        "rate": 0.25,
        "complete": False,
    }
    assert report["active_suppliers"] == 3
    assert sum(report["suppliers_by_risk"].values()) == 3
    assert report["suppliers_by_risk"]["critical"] == 3  # silent new suppliers
    assert report["mrr_at_risk_minor"] == {"GBP": 3 * 4900}
    assert sum(b["count"] for b in report["health_distribution"]) == 3
    assert len(report["new_at_risk_by_week"]) == 12


async def test_overview_needs_read_scope(
    client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    response = await client.get(
        "/api/v1/reports/overview", headers={"Authorization": f"Bearer {api_keys['ingest']}"}
    )
    assert response.status_code == 403


async def test_overview_snapshot_is_served_stale_and_refreshed_behind(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    now = [100.0]
    snapshots = OverviewSnapshots(
        ctx.db, max_age_seconds=15, rates=DEFAULT_RATES, monotonic=lambda: now[0]
    )
    today = ctx.clock().date()
    await create_supplier(client)
    assert (await snapshots.get(today)).active_suppliers == 1

    await create_supplier(client)
    now[0] += 10  # still fresh: the snapshot is served as it is
    assert (await snapshots.get(today)).active_suppliers == 1
    now[0] += 10  # stale: served at once, refreshed in the background
    assert (await snapshots.get(today)).active_suppliers == 1
    await snapshots.settled()
    assert (await snapshots.get(today)).active_suppliers == 2

    always_fresh = OverviewSnapshots(ctx.db, max_age_seconds=0, rates=DEFAULT_RATES)
    await create_supplier(client)
    assert (await always_fresh.get(today)).active_suppliers == 3


async def test_an_overview_of_a_past_day_uses_the_health_of_that_day(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    # Busy in April, silent since: healthy then, at risk now (the clock is 15 June 2026).
    sid = await create_supplier(client, signed_up_at="2026-01-05T00:00:00+00:00")
    april = [
        event(sid, kind, datetime(2026, 4, day, 10, tzinfo=UTC))
        for day in range(1, 30)
        for kind in ("login", "client_added", "message_sent")
    ]
    await ingest(client, april)
    then = "2026-04-30"
    assert (
        await client.post("/api/v1/health/recompute", params={"as_of": then})
    ).status_code == 200
    assert (await client.post("/api/v1/health/recompute")).status_code == 200
    history = (await client.get(f"/api/v1/suppliers/{sid}/health/history")).json()["points"]
    scored = {p["as_of"]: p for p in history}
    past, now = scored[then], scored[clock.now.date().isoformat()]
    assert past["score"] != now["score"]

    report = (await client.get("/api/v1/reports/overview", params={"as_of": then})).json()
    assert report["average_health"] == round(past["score"], 1)
    assert report["suppliers_by_risk"][past["risk_level"]] == 1
    today = (await client.get("/api/v1/reports/overview")).json()
    assert today["average_health"] == round(now["score"], 1)
    assert today["suppliers_by_risk"][now["risk_level"]] == 1
    # A day before any score: the supplier counts as active, without a health.
    early = (await client.get("/api/v1/reports/overview", params={"as_of": "2026-02-01"})).json()
    assert early["active_suppliers"] == 1
    assert early["average_health"] is None
