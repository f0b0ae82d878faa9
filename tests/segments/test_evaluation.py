"""Segments are evaluated after every recompute, set-based: who entered and who left, each
change once with its success event, on both backends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.context import AppContext
from wedsync_success.events.models import OutboxEvent
from wedsync_success.segments import service
from wedsync_success.segments.models import SegmentMembership

AT_RISK = "at_risk_photographers_professional"
STALLED = "onboarding_stalled"


async def _events(ctx: AppContext, kind: str) -> list[tuple[str, dict[str, Any]]]:
    async with ctx.db.sessions() as session:
        rows = await session.execute(
            select(OutboxEvent.supplier_id, OutboxEvent.payload)
            .where(OutboxEvent.event_type == kind)
            .order_by(OutboxEvent.id)
        )
        return [(str(s), p) for s, p in rows]


async def _members(ctx: AppContext, key: str) -> set[str]:
    async with ctx.db.sessions() as session:
        rows = await session.scalars(
            select(SegmentMembership.supplier_id).where(SegmentMembership.segment_key == key)
        )
        return {str(r) for r in rows}


def _signed_up(clock: FakeClock, days: int) -> str:
    return (clock.now - timedelta(days=days)).isoformat()


async def test_a_new_supplier_enters_the_segments_its_first_score_puts_it_in(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    photographer = await create_supplier(client, vendor_type="photographer")
    florist = await create_supplier(client, vendor_type="florist")
    starter = await create_supplier(client, vendor_type="photographer", plan_tier="starter")

    assert await _members(ctx, AT_RISK) == {photographer}  # a silent supplier is critical
    entered = await _events(ctx, "segment.entered")
    assert (
        photographer,
        {"segment_key": AT_RISK, "segment_name": ctx.segments.get(AT_RISK).name},
    ) in entered  # type: ignore[union-attr]
    assert {s for s, p in entered if p["segment_key"] == AT_RISK} == {photographer}
    assert florist not in {s for s, _ in entered}
    assert starter not in {s for s, _ in entered}


async def test_an_unchanged_re_evaluation_changes_nothing_and_emits_nothing(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await create_supplier(client, vendor_type="photographer")
    before = await _events(ctx, "segment.entered")
    async with ctx.db.transaction() as session:
        results = await service.evaluate(session=session, catalog=ctx.segments, now=ctx.clock())
    assert {r.key: (r.entered, r.exited) for r in results}[AT_RISK] == (0, 0)
    assert {r.key: r.members for r in results}[AT_RISK] == 1
    assert await _events(ctx, "segment.entered") == before
    assert await _events(ctx, "segment.exited") == []


async def test_activity_moves_a_supplier_out_of_onboarding_stalled(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    stalled = await create_supplier(client, signed_up_at=_signed_up(clock, 20))
    too_new = await create_supplier(client, signed_up_at=_signed_up(clock, 10))
    await create_supplier(client, signed_up_at=_signed_up(clock, 100))  # settled
    assert await _members(ctx, STALLED) == {stalled}

    # Three logins in the fortnight: no longer stalled (the ingest's rescore re-evaluates).
    await ingest(
        client, [event(stalled, "login", clock.now - timedelta(hours=h)) for h in (1, 2, 3)]
    )
    assert await _members(ctx, STALLED) == set()
    exited = await _events(ctx, "segment.exited")
    assert [(s, p["segment_key"]) for s, p in exited] == [(stalled, STALLED)]

    # The logins age out of the 14-day window: stalled again, entered a second time.
    clock.advance(days=15)
    async with ctx.db.transaction() as session:
        await service.evaluate(session=session, catalog=ctx.segments, now=clock.now, keys=[STALLED])
    # ... and the supplier 10 days in then is 25 days in now.
    assert await _members(ctx, STALLED) == {stalled, too_new}
    entries = [s for s, p in await _events(ctx, "segment.entered") if p["segment_key"] == STALLED]
    assert sorted(entries) == sorted([stalled, stalled, too_new])


async def test_milestones_and_tenure_bound_onboarding_stalled(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    both = await create_supplier(client, signed_up_at=_signed_up(clock, 30))
    one = await create_supplier(client, signed_up_at=_signed_up(clock, 30))
    old = await create_supplier(client, signed_up_at=_signed_up(clock, 84))
    edge = await create_supplier(client, signed_up_at=_signed_up(clock, 14))
    assert await _members(ctx, STALLED) == {both, one, edge}
    at = clock.now - timedelta(hours=1)
    await ingest(
        client,
        [
            event(both, "client_added", at),
            event(both, "form_created", at),
            event(one, "client_added", at),
        ],
    )
    # `one` still lacks a first form (any of the two not achieved); `old` is 84 days in.
    assert await _members(ctx, STALLED) == {one, edge}
    assert old not in await _members(ctx, STALLED)


async def test_a_supplier_that_leaves_is_no_longer_a_member(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    photographer = await create_supplier(client, vendor_type="photographer")
    ended = (clock.now - timedelta(hours=1)).isoformat()
    await create_supplier(
        client,
        id=photographer,
        vendor_type="photographer",
        subscription_status="cancelled",
        subscription_ended_at=ended,
    )
    async with ctx.db.transaction() as session:
        await service.evaluate(session=session, catalog=ctx.segments, now=clock.now)
    assert await _members(ctx, AT_RISK) == set()
    assert [s for s, _ in await _events(ctx, "segment.exited")] == [photographer]


async def test_evaluation_is_a_fixed_number_of_statements(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    for n in range(6):
        await create_supplier(client, vendor_type="photographer" if n % 2 else "venue")
    statements: list[str] = []
    from sqlalchemy import event as sa_event

    engine = ctx.db.engine.sync_engine

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        async with ctx.db.transaction() as session:
            await service.evaluate(session=session, catalog=ctx.segments, now=ctx.clock())
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    # The stored segments, a lock, two statements a segment, member counts (and the dialect's
    # transaction statements): nothing per supplier.
    work = [s for s in statements if "segment" in s.lower() or "supplier" in s.lower()]
    assert len(work) <= 2 + 2 * len(ctx.segments.segments) + 1 + 1, work
