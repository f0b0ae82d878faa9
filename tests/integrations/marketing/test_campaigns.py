"""Predictive campaign triggers: a risk rise or a segment entry starts a campaign once per
supplier per cooldown (also with two consumers at once), as a track call or a webhook."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select

from tests.conftest import FakeClock
from tests.integrations.marketing.collector import collector
from tests.integrations.marketing.conftest import (
    WRITE_KEY,
    MakeContext,
    add_suppliers,
    emit,
    make_worker,
    messages,
)
from tests.integrations.webhooks.receiver import ClockedWebhook
from wedsync_success.context import AppContext
from wedsync_success.events.models import OutboxEvent
from wedsync_success.events.types import SuccessEvent, SuccessEventType
from wedsync_success.integrations.marketing.campaigns import fire_campaigns
from wedsync_success.integrations.marketing.models import CampaignFiring
from wedsync_success.kit.standard_webhooks import new_secret
from wedsync_success.segments.service import SEGMENT_KEY

RISK_RISE = """
version: 1
campaigns:
  - key: rescue
    when: risk_rise
    min_level: at_risk
    cooldown_days: 30
    action: {track: Churn Risk Rescue Started}
"""
SEGMENT_HOOK = """
version: 1
campaigns:
  - key: stalled
    when: segment_entered
    segment: onboarding_stalled
    cooldown_days: 14
    action:
      webhook: {url: "URL", secret_env: TEST_CAMPAIGN_SECRET}
"""


def rise(old: str, new: str) -> dict[str, object]:
    return {"risk_level": new, "previous_risk_level": old, "score": 40.0}


async def triggered(ctx: AppContext) -> list[OutboxEvent]:
    async with ctx.db.sessions() as session:
        rows = await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.event_type == SuccessEventType.CAMPAIGN_TRIGGERED.value)
            .order_by(OutboxEvent.id)
        )
        return list(rows)


async def firings(ctx: AppContext) -> list[CampaignFiring]:
    async with ctx.db.sessions() as session:
        return list(await session.scalars(select(CampaignFiring)))


def campaign_tracks(rows: list[object]) -> list[dict[str, object]]:
    return [
        r.body  # type: ignore[attr-defined]
        for r in rows
        if r.body.get("event") == "Churn Risk Rescue Started"  # type: ignore[attr-defined]
    ]


async def test_a_risk_rise_fires_once_per_cooldown_and_is_recorded_as_an_event(
    make_ctx: MakeContext, clock: FakeClock, port: int
) -> None:
    ctx = await make_ctx(RISK_RISE)
    [s, other] = await add_suppliers(ctx, 2)
    rel = SuccessEventType.RISK_LEVEL_CHANGED
    await emit(ctx, [s], rel, rise("watch", "at_risk"))
    await emit(ctx, [other], rel, rise("healthy", "watch"))  # below min_level
    await emit(ctx, [other], rel, rise("critical", "at_risk"))  # a fall, not a rise
    [start] = campaign_tracks(await messages(ctx))
    assert start["userId"] == str(s)
    assert start["properties"]["campaign"] == "rescue"  # type: ignore[index]
    assert start["properties"]["trigger"] == "risk_rise"  # type: ignore[index]
    [event] = await triggered(ctx)
    assert event.supplier_id == s
    assert event.payload["campaign"] == "rescue"
    assert event.payload["action"] == "track"
    clock.advance(days=29)
    await emit(ctx, [s], rel, rise("at_risk", "critical"))  # within the cooldown
    assert len(campaign_tracks(await messages(ctx))) == 1
    clock.advance(days=1)
    await emit(ctx, [s], rel, rise("at_risk", "critical"))
    assert len(campaign_tracks(await messages(ctx))) == 2
    [firing] = await firings(ctx)
    assert (firing.supplier_id, firing.firings, firing.fired_at) == (s, 2, clock())
    assert len(await triggered(ctx)) == 2
    worker = make_worker(ctx, clock)
    try:
        with collector(WRITE_KEY, port=port) as c:
            await worker.drain()
    finally:
        await worker.aclose()
    names = [m.get("event") for m in c.effects]
    assert names.count("Churn Risk Rescue Started") == 2
    assert "Campaign Triggered" not in names  # the campaign's own call says it


async def test_track_campaigns_are_inactive_without_a_collector(make_ctx: MakeContext) -> None:
    ctx = await make_ctx(RISK_RISE, marketing_url=None)
    [s] = await add_suppliers(ctx, 1)
    await emit(ctx, [s], SuccessEventType.RISK_LEVEL_CHANGED, rise("watch", "critical"))
    assert await firings(ctx) == []
    assert await messages(ctx) == []
    assert await triggered(ctx) == []


async def test_a_segment_entry_posts_a_signed_webhook_with_an_idempotency_key(
    make_ctx: MakeContext, clock: FakeClock, port: int, monkeypatch: object
) -> None:
    secret = new_secret()
    monkeypatch.setenv("TEST_CAMPAIGN_SECRET", secret)  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{port}/hooks/stalled"
    ctx = await make_ctx(SEGMENT_HOOK.replace("URL", url), marketing_url=None)
    [s] = await add_suppliers(ctx, 1, external_id="crm-7")
    entered = SuccessEventType.SEGMENT_ENTERED
    await emit(ctx, [s], entered, {SEGMENT_KEY: "some_other_segment"})
    await emit(ctx, [s], entered, {SEGMENT_KEY: "onboarding_stalled"})
    await emit(ctx, [s], entered, {SEGMENT_KEY: "onboarding_stalled"})  # cooldown
    [row] = await messages(ctx)
    assert row.kind == "webhook"
    worker = make_worker(ctx, clock)
    try:
        with collector(WRITE_KEY, port=port) as c:
            c.answers = [(502, {})]
            assert await worker.drain() == 0
            clock.now = (await messages(ctx))[0].due_at
            assert await worker.drain() == 1
    finally:
        await worker.aclose()
    assert len(c.hooks) == 1
    [(headers, raw)] = c.hooks
    body = ClockedWebhook(secret, clock).verify(raw, headers)
    assert headers["idempotency-key"] == row.message_id
    assert body["campaign"] == "stalled"
    assert body["user_id"] == "crm-7"
    assert body["event"]["payload"][SEGMENT_KEY] == "onboarding_stalled"
    [event] = await triggered(ctx)
    assert event.payload["action"] == "webhook"


async def test_two_consumers_at_once_fire_a_campaign_once(
    make_ctx: MakeContext, clock: FakeClock
) -> None:
    ctx = await make_ctx(RISK_RISE)
    suppliers = await add_suppliers(ctx, 20)

    def events() -> list[SuccessEvent]:
        return [
            SuccessEvent(
                sequence=0,
                event_id=uuid.uuid4(),
                event_type=SuccessEventType.RISK_LEVEL_CHANGED.value,
                supplier_id=s,
                occurred_at=clock(),
                payload=rise("watch", "critical"),
            )
            for s in suppliers
        ]

    async def consume(batch: list[SuccessEvent]) -> int:
        async with ctx.db.transaction() as session:
            fired = await fire_campaigns(
                session=session,
                events=batch,
                campaigns=ctx.marketing.campaigns,
                policy=ctx.marketing.policy,
                now=clock(),
            )
            await asyncio.sleep(0.05)  # hold the transaction open while the other runs
            return fired

    counts = await asyncio.gather(consume(events()), consume(events()[::-1]))
    assert sum(counts) == 20
    rows = await firings(ctx)
    assert len(rows) == 20
    assert {r.firings for r in rows} == {1}
    assert len(campaign_tracks(await messages(ctx))) == 20
    assert len(await triggered(ctx)) == 20
    clock.advance(days=31)
    counts = await asyncio.gather(consume(events()), consume(events()))
    assert sum(counts) == 20
    assert {r.firings for r in await firings(ctx)} == {2}
