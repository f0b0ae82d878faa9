"""The overview report: churn by month follows the project's definition."""

from __future__ import annotations

import httpx

from tests.conftest import FakeClock
from tests.helpers import create_supplier
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
