"""Health scores: components, explanation, risk bands, history, trends and change events."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.context import AppContext
from wedsync_success.events.models import OutboxEvent
from wedsync_success.pipeline import rescore_all


def _active_days(sid: str, clock: FakeClock, days: int) -> list[dict[str, object]]:
    return [event(sid, "login", clock.now - timedelta(days=d, hours=1)) for d in range(days)]


async def test_components_follow_the_configured_targets(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    events = _active_days(sid, clock, 8)  # engagement target is 16 active days
    events += [event(sid, "client_added", clock.now - timedelta(hours=2)) for _ in range(3)]
    events += [event(sid, "payment_failed", clock.now - timedelta(days=3))]
    events += [event(sid, "support_ticket_opened", clock.now - timedelta(days=2))] * 1
    await ingest(client, events)

    health = (await client.get(f"/api/v1/suppliers/{sid}")).json()["health"]
    c = health["components"]
    assert c["engagement"] == pytest.approx(50.0)  # 8 of 16 days
    assert c["adoption"] == pytest.approx(16.7)  # one core feature of a target of six
    assert c["clients"] == pytest.approx(25.0)  # 3 of 12 actions
    assert c["billing"] == pytest.approx(70.0)  # one failed payment costs 30
    assert c["support"] == pytest.approx(80.0)  # one ticket costs 20
    assert c["referrals"] == 0.0
    assert c["network"] == 0.0
    # first_client_added is 1 of 10 milestones
    assert c["milestones"] == pytest.approx(10.0)
    assert health["score"] == pytest.approx(
        0.25 * 50 + 0.15 * 16.7 + 0.15 * 10 + 0.15 * 25 + 0.15 * 70 + 0.05 * 80, abs=0.05
    )


async def test_explanation_measures_against_healthy_and_adds_up_to_the_score(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    await ingest(client, _active_days(sid, clock, 12))
    health = (await client.get(f"/api/v1/suppliers/{sid}")).json()["health"]
    explanation = health["explanation"]
    factors = explanation["strengths"] + explanation["gaps"]
    assert sorted(f["component"] for f in factors) == sorted(health["components"])
    # healthy everywhere: 0.25*100 + 0.15*100 + 0.15*60 + 0.15*75 + 0.15*100 + 0.05*100
    # + 0.05*33.3 (referrals) + 0.05*33.3 (network)
    assert explanation["healthy_score"] == pytest.approx(83.6)
    total = sum(f["impact"] for f in factors)
    assert total == pytest.approx(health["score"] - explanation["healthy_score"], abs=0.3)
    assert {f["status"] for f in explanation["strengths"]} == {"on_track"}
    assert all(f["score"] >= f["healthy"] for f in explanation["strengths"])
    assert all(f["score"] < f["healthy"] and f["impact"] < 0 for f in explanation["gaps"])
    engagement = next(f for f in explanation["gaps"] if f["component"] == "engagement")
    assert engagement["detail"] == "Active on 12 days of the last 30"
    assert engagement["healthy_detail"] == "Healthy: active on 16 of 30 days"
    # 4 days short: 0.25 * 25 = 6.25 points, the what-if score (45.0) minus the score (38.8)
    assert health["score"] == 38.8
    assert engagement["impact"] == -6.2
    assert [f["component"] for f in explanation["strengths"]] == ["billing", "support"]
    raise_most = explanation["improvements"]
    assert raise_most[0]["component"] == "adoption"  # no core feature used: 0.15 * 100
    assert raise_most[0]["points"] == 15.0
    assert raise_most[0]["score_if_reached"] == pytest.approx(health["score"] + 15.0)
    assert [i["points"] for i in raise_most] == sorted(
        (i["points"] for i in raise_most), reverse=True
    )


async def test_a_silent_new_supplier_is_critical(client: httpx.AsyncClient) -> None:
    sid = await create_supplier(client)
    health = (await client.get(f"/api/v1/suppliers/{sid}")).json()["health"]
    # only billing and support are at full marks: 0.15 * 100 + 0.05 * 100 = 20
    assert health["score"] == pytest.approx(20.0)
    assert health["risk_level"] == "critical"


async def test_history_trend_and_change_events(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    clock.advance(days=-7)  # the supplier was busy until 17 days before this moment
    sid = await create_supplier(client, signed_up_at="2025-01-01T00:00:00+00:00")
    core = (
        "login",
        "client_added",
        "form_created",
        "journey_started",
        "message_sent",
        "invoice_sent",
        "feature_used",
    )
    busy = [
        event(sid, t, clock.now - timedelta(days=17 + d, hours=1)) for d in range(20) for t in core
    ]
    await ingest(client, busy)  # scored as of a week ago: 13 active days in the last 30
    week_ago = clock.now.date()
    clock.advance(days=7)
    async with ctx.db.transaction() as session:
        summary = await rescore_all(session=session, ctx=ctx, as_of=clock.now.date())
    assert summary.scored == 1

    detail = (await client.get(f"/api/v1/suppliers/{sid}")).json()["health"]
    history = (await client.get(f"/api/v1/suppliers/{sid}/health/history")).json()["points"]
    by_day = {p["as_of"]: p["score"] for p in history}
    assert detail["as_of"] == clock.now.date().isoformat()
    assert detail["change_7d"] == pytest.approx(detail["score"] - by_day[week_ago.isoformat()])
    assert detail["change_7d"] < -10  # a quiet week costs engagement: 13 active days -> 6
    # 4 of the 10 milestones reached
    assert (by_day[week_ago.isoformat()], detail["risk_level"]) == (pytest.approx(76.3), "watch")

    async with ctx.db.sessions() as session:
        declines = list(
            await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.event_type.like("supplier.%"))
                .where(
                    OutboxEvent.event_type.in_(
                        ["supplier.health_declined", "supplier.risk_level_changed"]
                    )
                )
                .order_by(OutboxEvent.id)
            )
        )
    assert [e.event_type for e in declines][-2:] == [
        "supplier.risk_level_changed",
        "supplier.health_declined",
    ]
    assert declines[-1].payload["previous_score"] == pytest.approx(76.3)
    assert declines[-2].payload["previous_risk_level"] == "healthy"
    assert declines[-2].payload["risk_level"] == "watch"


async def test_backfilling_an_earlier_day_keeps_the_current_score(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client, signed_up_at="2025-01-01T00:00:00+00:00")
    await ingest(client, _active_days(sid, clock, 3))
    before = (await client.get(f"/api/v1/suppliers/{sid}")).json()["health"]
    async with ctx.db.transaction() as session:
        await rescore_all(session=session, ctx=ctx, as_of=clock.now.date() - timedelta(days=60))
    after = (await client.get(f"/api/v1/suppliers/{sid}")).json()["health"]
    assert after["as_of"] == before["as_of"]
    assert after["score"] == before["score"]
    history = (await client.get(f"/api/v1/suppliers/{sid}/health/history")).json()["points"]
    assert len(history) == 2


async def test_recompute_skips_cancelled_and_not_yet_signed_up_suppliers(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await create_supplier(client)
    await create_supplier(
        client,
        subscription_status="cancelled",
        subscription_ended_at=(clock.now - timedelta(days=5)).isoformat(),
    )
    await create_supplier(client, signed_up_at=(clock.now + timedelta(days=30)).isoformat())
    response = await client.post("/api/v1/health/recompute")
    assert response.status_code == 200
    assert response.json()["scored"] == 1


async def test_recompute_needs_admin(client: httpx.AsyncClient, api_keys: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/health/recompute", headers={"Authorization": f"Bearer {api_keys['read']}"}
    )
    assert response.status_code == 403


async def test_history_of_unknown_supplier_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/suppliers/00000000-0000-4000-8000-000000000000/health/history"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
