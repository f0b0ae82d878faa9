"""Success events reach a real collector on 127.0.0.1 as Segment-spec batches: basic auth,
identify before track, once per messageId, retried through outages, refusals recorded."""

from __future__ import annotations

import uuid
from datetime import timedelta

from tests.conftest import FakeClock
from tests.factories import supplier
from tests.integrations.marketing.collector import collector
from tests.integrations.marketing.conftest import (
    WRITE_KEY,
    MakeContext,
    add_suppliers,
    emit,
    make_worker,
    messages,
)
from wedsync_success.context import AppContext
from wedsync_success.events.types import SuccessEvent, SuccessEventType
from wedsync_success.integrations.marketing import segment, service
from wedsync_success.suppliers.service import upsert_batch


async def test_events_arrive_in_batches_with_identify_first_and_a_stable_message_id(
    make_ctx: MakeContext, clock: FakeClock, port: int
) -> None:
    ctx = await make_ctx()
    ids = await add_suppliers(ctx, 3, external_id=None)
    [named] = await add_suppliers(ctx, 1, external_id="crm-42")
    await emit(ctx, [*ids, named])
    rows = await messages(ctx)
    assert sorted(r.kind for r in rows) == ["identify"] * 4 + ["track"] * 4
    worker = make_worker(ctx, clock)
    try:
        with collector(WRITE_KEY, port=port) as c:
            assert await worker.drain() == 8
    finally:
        await worker.aclose()
    assert c.unauthorised == 0
    assert c.invalid == []
    assert len(c.batches) == 1  # eight small messages: one request
    [batch] = c.batches
    kinds = [m["type"] for m in batch]
    assert kinds.index("track") > max(i for i, k in enumerate(kinds) if k == "identify")
    track = next(m for m in batch if m["type"] == "track" and m["userId"] == "crm-42")
    assert track["event"] == "Milestone Achieved"
    assert track["properties"]["milestone"] == "first_booking"
    assert track["properties"]["wedsync_event_type"] == "supplier.milestone_achieved"
    event_id = uuid.UUID(track["properties"]["wedsync_event_id"])
    assert track["messageId"] == segment.track_message_id(event_id)
    assert track["timestamp"] == clock().isoformat()
    identify = next(m for m in batch if m["type"] == "identify" and m["userId"] == "crm-42")
    assert identify["traits"]["vendor_type"] == "florist"
    assert identify["traits"]["plan"] == "professional"
    assert identify["traits"]["business_name"].startswith("Bloom & Vow Florals")
    assert {m["userId"] for m in batch if m["type"] == "track"} == {*map(str, ids), "crm-42"}
    assert [r.state for r in await messages(ctx)] == ["sent"] * 8


async def test_identify_is_sent_again_only_when_traits_change(
    make_ctx: MakeContext, clock: FakeClock
) -> None:
    ctx = await make_ctx()
    [s] = await add_suppliers(ctx, 1)
    await emit(ctx, [s])
    await emit(ctx, [s], SuccessEventType.HEALTH_IMPROVED, {"score": 70})
    assert [r.kind for r in await messages(ctx)] == ["identify", "track", "track"]
    async with ctx.db.transaction() as session:
        result = await upsert_batch(
            session=session, items=[supplier(id=str(s), plan_tier="scale")], now=clock()
        )
        assert not result.rejected
    await emit(ctx, [s])
    rows = await messages(ctx)
    assert [r.kind for r in rows] == ["identify", "track", "track", "identify", "track"]
    assert rows[3].body["traits"]["plan"] == "scale"


async def test_a_redelivered_event_queues_nothing_new(make_ctx: MakeContext) -> None:
    ctx = await make_ctx()
    [s] = await add_suppliers(ctx, 1)
    await emit(ctx, [s])
    [track] = [r for r in await messages(ctx) if r.kind == "track"]
    again = SuccessEvent(
        sequence=1,
        event_id=uuid.UUID(track.body["properties"]["wedsync_event_id"]),
        event_type="supplier.milestone_achieved",
        supplier_id=s,
        occurred_at=ctx.clock(),
        payload={"milestone": "first_booking"},
    )
    async with ctx.db.transaction() as session:
        await service.queue_events(
            session=session, events=[again], policy=ctx.marketing.policy, now=ctx.clock()
        )
    assert len(await messages(ctx)) == 2


async def test_without_a_collector_url_nothing_is_queued(
    make_ctx: MakeContext, ctx: AppContext
) -> None:
    off = await make_ctx(marketing_url=None)
    ids = await add_suppliers(off, 2)
    await emit(off, ids)
    assert await messages(off) == []
    assert off.marketing.policy.enabled is False


async def test_a_collector_that_is_down_is_retried_and_then_receives_each_message_once(
    make_ctx: MakeContext, clock: FakeClock, port: int
) -> None:
    ctx = await make_ctx()
    ids = await add_suppliers(ctx, 2)
    await emit(ctx, ids)
    worker = make_worker(ctx, clock)
    try:
        assert await worker.drain() == 0  # connection refused
        rows = await messages(ctx)
        assert {r.state for r in rows} == {"pending"}
        assert {r.attempts for r in rows} == {1}
        assert all("unreachable" in (r.last_error or "") for r in rows)
        assert all(clock() <= r.due_at <= clock() + timedelta(seconds=5) for r in rows)
        with collector(WRITE_KEY, port=port) as c:
            c.answers = [(503, {}), (429, {"Retry-After": "120"})]
            clock.now = max(r.due_at for r in rows)
            assert await worker.drain() == 0  # 503
            rows = await messages(ctx)
            assert {r.last_status_code for r in rows} == {503}
            clock.now = max(r.due_at for r in rows)
            assert await worker.drain() == 0  # 429, Retry-After 120 s
            rows = await messages(ctx)
            assert {r.last_status_code for r in rows} == {429}
            assert all(r.due_at >= clock() + timedelta(seconds=120) for r in rows)
            clock.advance(seconds=119)
            assert await worker.drain() == 0  # not due yet
            clock.now = max(r.due_at for r in rows)
            assert await worker.drain() == 4
    finally:
        await worker.aclose()
    assert len(c.effects) == 4
    assert all(n == 1 for n in c.per_message_id().values())
    rows = await messages(ctx)
    assert {(r.state, r.attempts) for r in rows} == {("sent", 4)}


async def test_retries_stop_at_the_window_and_the_last_error_is_kept(
    make_ctx: MakeContext, clock: FakeClock
) -> None:
    ctx = await make_ctx(marketing_retry_window_hours=1)
    [s] = await add_suppliers(ctx, 1)
    await emit(ctx, [s])
    worker = make_worker(ctx, clock)
    try:
        for _ in range(100):
            rows = await messages(ctx)
            if {r.state for r in rows} == {"failed"}:
                break
            clock.now = max(r.due_at for r in rows)
            await worker.drain()
    finally:
        await worker.aclose()
    rows = await messages(ctx)
    assert {r.state for r in rows} == {"failed"}
    assert all("unreachable" in (r.last_error or "") for r in rows)
    assert all(r.first_due_at + timedelta(hours=1) >= clock() - timedelta(hours=1) for r in rows)


async def test_a_refused_message_fails_alone_with_the_collectors_answer(
    make_ctx: MakeContext, clock: FakeClock, port: int
) -> None:
    ctx = await make_ctx()
    ids = await add_suppliers(ctx, 3)
    await emit(ctx, ids[:2])
    await emit(ctx, ids[2:], SuccessEventType.PAYMENT_FAILED, {"amount_minor": 4900})
    worker = make_worker(ctx, clock)
    try:
        with collector(WRITE_KEY, port=port) as c:
            c.refuse_event = "Payment Failed"
            queued = len(await messages(ctx))  # a playbook enrolled the payer, too
            assert await worker.drain() == queued - 1
    finally:
        await worker.aclose()
    rows = await messages(ctx)
    [failed] = [r for r in rows if r.state == "failed"]
    assert failed.body["event"] == "Payment Failed"
    assert failed.last_status_code == 400
    assert "blocked by a tracking plan" in (failed.last_error or "")
    assert failed.attempts == 1
    assert sorted(m["messageId"] for m in c.effects) == sorted(
        r.message_id for r in rows if r.state == "sent"
    )


async def test_a_wrong_write_key_is_retried_not_failed(
    make_ctx: MakeContext, clock: FakeClock, port: int
) -> None:
    ctx = await make_ctx(marketing_write_key="wrong")
    [s] = await add_suppliers(ctx, 1)
    await emit(ctx, [s])
    worker = make_worker(ctx, clock)
    try:
        with collector(WRITE_KEY, port=port) as c:
            assert await worker.drain() == 0
    finally:
        await worker.aclose()
    assert c.unauthorised == 1
    rows = await messages(ctx)
    assert {(r.state, r.last_status_code) for r in rows} == {("pending", 401)}


async def test_a_message_over_32_kb_is_failed_when_queued_and_never_sent(
    make_ctx: MakeContext, clock: FakeClock, port: int
) -> None:
    ctx = await make_ctx()
    [s] = await add_suppliers(ctx, 1)
    await emit(ctx, [s], SuccessEventType.MILESTONE_ACHIEVED, {"note": "x" * 40_000})
    [_identify, track] = await messages(ctx)
    assert track.state == "failed"
    assert "collectors accept at most 32,768" in (track.last_error or "")
    worker = make_worker(ctx, clock)
    try:
        with collector(WRITE_KEY, port=port) as c:
            assert await worker.drain() == 1
    finally:
        await worker.aclose()
    assert [m["type"] for m in c.effects] == ["identify"]


async def test_many_messages_are_split_into_batches_under_500_kb(
    make_ctx: MakeContext, clock: FakeClock, port: int
) -> None:
    ctx = await make_ctx()
    ids = await add_suppliers(ctx, 60)
    await emit(ctx, ids, SuccessEventType.MILESTONE_ACHIEVED, {"note": "y" * 20_000})
    worker = make_worker(ctx, clock)
    try:
        with collector(WRITE_KEY, port=port) as c:
            assert await worker.drain() == 120
    finally:
        await worker.aclose()
    assert c.invalid == []
    assert len(c.batches) >= 3  # 60 x 20 KB does not fit in 500 KB twice
    assert len(c.effects) == 120
