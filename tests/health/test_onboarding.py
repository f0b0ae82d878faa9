"""The onboarding band: a supplier fewer than 30 whole days after its signup day is
"onboarding", not critical; the daily scoring moves it to a band, with the usual event."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import numpy as np
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.config import DEFAULTS_DIR
from wedsync_success.context import AppContext
from wedsync_success.events.models import OutboxEvent
from wedsync_success.health.components import onboarding_mask
from wedsync_success.health.config import Onboarding, load_health_config
from wedsync_success.health.service import recompute
from wedsync_success.pipeline import rescore_all

CONFIG = load_health_config(DEFAULTS_DIR / "health.yaml")


def _signed_up(clock: FakeClock, days: int, *, hour: int = 9) -> str:
    """A signup ``days`` calendar days before the clock's day, at ``hour`` UTC."""
    day = clock.now.date() - timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, tzinfo=clock.now.tzinfo).isoformat()


async def _level(client: httpx.AsyncClient, sid: str) -> str:
    health = (await client.get(f"/api/v1/suppliers/{sid}")).json()["health"]
    return str(health["risk_level"])


def test_the_period_counts_whole_days_since_the_signup_day() -> None:
    days = np.array([0, 1, 29, 30, 31, -1], dtype=np.float64)
    assert onboarding_mask(days, CONFIG).tolist() == [True, True, True, False, False, True]


async def test_day_29_is_onboarding_and_day_30_and_31_are_scored_into_a_band(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    day_29 = await create_supplier(client, signed_up_at=_signed_up(clock, 29, hour=23))
    day_30 = await create_supplier(client, signed_up_at=_signed_up(clock, 30, hour=0))
    day_31 = await create_supplier(client, signed_up_at=_signed_up(clock, 31))
    assert await _level(client, day_29) == "onboarding"
    assert await _level(client, day_30) == "critical"  # a silent supplier scores 20
    assert await _level(client, day_31) == "critical"

    onboarding = (await client.get("/api/v1/suppliers", params={"risk_level": "onboarding"})).json()
    assert [i["id"] for i in onboarding["items"]] == [day_29]
    critical = (await client.get("/api/v1/suppliers", params={"risk_level": "critical"})).json()
    assert sorted(i["id"] for i in critical["items"]) == sorted([day_30, day_31])
    report = (await client.get("/api/v1/reports/overview")).json()
    assert report["suppliers_by_risk"]["onboarding"] == 1
    assert report["suppliers_by_risk"]["critical"] == 2
    assert report["mrr_at_risk_minor"] == {"GBP": 2 * 4900}  # onboarding is not at risk


async def test_the_profile_shows_onboarding_progress(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    sid = await create_supplier(client, signed_up_at=_signed_up(clock, 12))
    await ingest(client, [event(sid, "profile_completed", clock.now - timedelta(hours=3))])
    health = (await client.get(f"/api/v1/suppliers/{sid}")).json()["health"]
    assert health["risk_level"] == "onboarding"
    progress = health["onboarding"]
    assert (progress["day"], progress["days"]) == (12, 30)
    assert progress["ends_on"] == (clock.now.date() + timedelta(days=18)).isoformat()
    assert (progress["reached"], progress["total"]) == (1, 4)
    assert [(m["key"], m["achieved"]) for m in progress["milestones"]] == [
        ("profile_completed", True),
        ("first_form_created", False),
        ("first_client_added", False),
        ("first_journey_started", False),
    ]
    settled = await create_supplier(client)
    assert (await client.get(f"/api/v1/suppliers/{settled}")).json()["health"]["onboarding"] is None


async def test_leaving_onboarding_emits_the_risk_level_change(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client, signed_up_at=_signed_up(clock, 29))
    assert await _level(client, sid) == "onboarding"
    clock.advance(days=1)  # day 30: the daily scoring puts it in its band
    async with ctx.db.transaction() as session:
        summary = await rescore_all(session=session, ctx=ctx, as_of=clock.now.date())
    assert summary.risk_levels == {"critical": 1}
    assert await _level(client, sid) == "critical"
    async with ctx.db.sessions() as session:
        changes = list(
            await session.scalars(
                select(OutboxEvent.payload).where(
                    OutboxEvent.event_type == "supplier.risk_level_changed"
                )
            )
        )
    assert [(c["previous_risk_level"], c["risk_level"]) for c in changes] == [
        ("onboarding", "critical")
    ]


async def test_scoring_a_day_of_the_period_again_keeps_it_onboarding(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    """Backfilling history: the band follows the day scored, not today."""
    sid = await create_supplier(client, signed_up_at=_signed_up(clock, 40))
    async with ctx.db.transaction() as session:
        await rescore_all(session=session, ctx=ctx, as_of=clock.now.date() - timedelta(days=15))
    points = (await client.get(f"/api/v1/suppliers/{sid}/health/history")).json()["points"]
    by_day = {p["as_of"]: p["risk_level"] for p in points}
    assert by_day[(clock.now.date() - timedelta(days=15)).isoformat()] == "onboarding"
    assert by_day[clock.now.date().isoformat()] == "critical"


async def test_an_onboarding_period_of_zero_turns_the_band_off(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client, signed_up_at=_signed_up(clock, 1))
    off = ctx.health.model_copy(update={"onboarding": Onboarding(days=0)})
    async with ctx.db.transaction() as session:
        summary = await recompute(
            session=session,
            config=off,
            milestones_defined=len(ctx.milestones.milestones),
            as_of=clock.now.date(),
            supplier_ids=None,
            now=clock.now,
        )
    assert summary.risk_levels == {"critical": 1}
    assert await _level(client, sid) == "critical"
