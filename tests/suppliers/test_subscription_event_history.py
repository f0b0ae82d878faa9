"""Subscription events of the events API append to the subscription history, and the
supplier row is derived from it: hand-worked timelines, replays, events out of order,
hostile properties and concurrent writers, on both backends."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from tests.factories import supplier
from wedsync_success.context import AppContext
from wedsync_success.pipeline import store
from wedsync_success.suppliers.history import import_periods
from wedsync_success.suppliers.models import SubscriptionPeriod, Supplier
from wedsync_success.suppliers.periods import Period, current_subscription, period_of
from wedsync_success.suppliers.repository import SubscriptionRow
from wedsync_success.suppliers.service import upsert_batch
from wedsync_success.suppliers.subscription_events import Change, Slot, apply, seed_of

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)  # the ctx fixture's clock
_ids = itertools.count(1)


def day(month: int, d: int = 1) -> datetime:
    return datetime(2026, month, d, tzinfo=UTC)


def p(plan: str, start: datetime, end: datetime | None, mrr: int, discount: int = 0) -> Period:
    return Period(plan, start, end, mrr, discount, "GBP")


ROW = SubscriptionRow("active", "starter", 1900, "GBP", day(1), None)


def spans(slots: list[Slot]) -> list[Period]:
    return sorted((s.period for s in slots), key=lambda q: (q.starts_at, q.plan))


# --- the rules, by hand -------------------------------------------------------------------


def test_a_plan_change_closes_the_period_and_opens_another_at_the_same_instant() -> None:
    history = [Slot(1, p("starter", day(1), None, 1900))]
    after = apply(history, Change(at=day(3), ends=False, plan="scale", mrr_minor=9900), row=ROW)
    assert spans(after) == [p("starter", day(1), day(3), 1900), p("scale", day(3), None, 9900)]
    assert [s.id for s in sorted(after, key=lambda s: s.period.starts_at)] == [1, None]


def test_a_change_keeps_what_it_leaves_out_and_its_total_replaces_two_subscriptions() -> None:
    history = [
        Slot(1, p("professional", day(1), None, 4900, discount=900)),
        Slot(2, p("starter", day(2), day(9), 1900)),
    ]
    after = apply(history, Change(at=day(4), ends=False, mrr_minor=7000), row=ROW)
    # Both covering periods end at the change; the new one, the largest's plan, lasts as long
    # as the longest of them (open); MRR is the new total.
    assert spans(after) == [
        p("professional", day(1), day(4), 4900, discount=900),
        p("starter", day(2), day(4), 1900),
        p("professional", day(4), None, 7000),
    ]


def test_a_cancellation_closes_what_covers_it_and_one_at_a_start_removes_that_period() -> None:
    history = [Slot(1, p("starter", day(1), None, 1900)), Slot(2, p("scale", day(5), None, 100))]
    after = apply(history, Change(at=day(5), ends=True), row=ROW)
    assert spans(after) == [p("starter", day(1), day(5), 1900)]


def test_a_start_after_a_gap_takes_the_last_periods_values_and_ends_at_the_next_one() -> None:
    history = [Slot(1, p("starter", day(1), day(2), 1900)), Slot(2, p("scale", day(8), None, 9))]
    after = apply(history, Change(at=day(4), ends=False, status="active"), row=ROW)
    assert spans(after) == [
        p("starter", day(1), day(2), 1900),
        p("starter", day(4), day(8), 1900),
        p("scale", day(8), None, 9),
    ]


def test_a_change_the_period_already_says_changes_nothing() -> None:
    history = [Slot(1, p("starter", day(1), None, 1900))]
    same = Change(at=day(3), ends=False, plan="starter", mrr_minor=1900, status="past_due")
    assert apply(history, same, row=ROW) == history


def test_a_late_change_lasts_until_the_later_one_and_a_late_cancellation_makes_a_gap() -> None:
    history = [
        Slot(1, p("starter", day(1), day(3), 1900)),
        Slot(2, p("professional", day(3), None, 4900)),
    ]
    late = apply(history, Change(at=day(2), ends=False, plan="scale", mrr_minor=9900), row=ROW)
    assert spans(late) == [
        p("starter", day(1), day(2), 1900),
        p("scale", day(2), day(3), 9900),
        p("professional", day(3), None, 4900),
    ]
    gap = apply(history, Change(at=day(2), ends=True), row=ROW)
    assert spans(gap) == [p("starter", day(1), day(2), 1900), p("professional", day(3), None, 4900)]
    derived = current_subscription(spans(gap), at=NOW, status_now="active")
    assert derived is not None
    assert (derived.status, derived.started_at) == ("active", day(3))  # a reactivation


def test_a_row_without_history_seeds_it() -> None:
    assert seed_of(ROW) == p("starter", day(1), None, 1900)
    cancelled = SubscriptionRow("cancelled", "scale", 9900, "EUR", day(1), day(4))
    assert seed_of(cancelled) == Period("scale", day(1), day(4), 9900, 0, "EUR")
    assert seed_of(SubscriptionRow("cancelled", "scale", 9900, "EUR", day(1), None)) is None


# --- through the events pipeline, on both backends ----------------------------------------


async def _supplier(ctx: AppContext, external_id: str = "acme") -> Any:
    async with ctx.db.transaction() as session:
        await session.execute(delete(Supplier))
        body = supplier(
            external_id=external_id,
            subscription_started_at=day(1).isoformat(),
            plan_tier="starter",
            mrr_minor=1900,
        )
        result = await upsert_batch(session=session, items=[body], now=NOW)
    return result.ids[0]


def _event(sid: Any, kind: str, at: datetime, **properties: Any) -> dict[str, Any]:
    return {
        "event_id": f"sub-{next(_ids)}",
        "supplier_id": str(sid),
        "type": f"subscription_{kind}",
        "occurred_at": at.isoformat(),
        "properties": properties,
    }


async def _ingest(ctx: AppContext, events: list[dict[str, Any]]) -> None:
    async with ctx.db.transaction() as session:
        stored = await store(session=session, ctx=ctx, items=events)
    assert stored.result.rejected == 0, stored.result.errors


async def _state(ctx: AppContext) -> tuple[list[Period], dict[str, Any]]:
    async with ctx.db.sessions() as session:
        rows = (await session.scalars(select(SubscriptionPeriod))).all()
        [s] = (await session.scalars(select(Supplier))).all()
    periods = sorted((period_of(r) for r in rows), key=lambda q: (q.starts_at, q.plan))
    row = {
        "status": s.subscription_status,
        "plan": s.plan_tier,
        "mrr": s.mrr_minor,
        "started": s.subscription_started_at,
        "ended": s.subscription_ended_at,
        "reason": s.cancellation_reason,
    }
    return periods, row


async def test_events_write_the_history_and_the_row_follows(ctx: AppContext) -> None:
    sid = await _supplier(ctx)
    await _ingest(ctx, [_event(sid, "changed", day(3), plan_tier="scale", mrr_minor=9900)])
    periods, row = await _state(ctx)
    assert periods == [p("starter", day(1), day(3), 1900), p("scale", day(3), None, 9900)]
    assert row == {
        "status": "active",
        "plan": "scale",
        "mrr": 9900,
        "started": day(1),  # an upgrade continues the subscription
        "ended": None,
        "reason": None,
    }
    await _ingest(ctx, [_event(sid, "cancelled", day(5), reason="price")])
    periods, row = await _state(ctx)
    assert periods[-1] == p("scale", day(3), day(5), 9900)
    assert (row["status"], row["ended"], row["reason"], row["mrr"]) == (
        "cancelled",
        day(5),
        "price",
        9900,
    )
    await _ingest(ctx, [_event(sid, "changed", day(6), status="active")])
    periods, row = await _state(ctx)
    assert periods[-1] == p("scale", day(6), None, 9900)
    assert (row["status"], row["started"], row["ended"], row["reason"]) == (
        "active",
        day(6),
        None,
        None,
    )


async def test_imports_and_events_share_one_history(ctx: AppContext) -> None:
    await _supplier(ctx)
    async with ctx.db.transaction() as session:
        result = await import_periods(
            session=session,
            items=[
                {
                    "supplier_external_id": "acme",
                    "plan": "professional",
                    "start_date": "2026-02-01",
                    "mrr_minor": 4900,
                    "currency": "GBP",
                }
            ],
            now=NOW,
        )
    [sid] = result.supplier_ids
    # History exists, so the row is not seeded again: the change splits the imported period.
    await _ingest(ctx, [_event(sid, "changed", day(4), mrr_minor=5900)])
    periods, row = await _state(ctx)
    assert periods == [
        p("professional", day(2), day(4), 4900),
        p("professional", day(4), None, 5900),
    ]
    assert (row["plan"], row["mrr"], row["started"]) == ("professional", 5900, day(2))


async def test_a_replayed_event_or_the_same_change_again_changes_nothing(ctx: AppContext) -> None:
    sid = await _supplier(ctx)
    change = _event(sid, "changed", day(3), plan_tier="scale", mrr_minor=9900)
    await _ingest(ctx, [change])
    before = await _state(ctx)
    await _ingest(ctx, [change])  # the same event id: a duplicate
    await _ingest(ctx, [_event(sid, "changed", day(3), plan_tier="scale", mrr_minor=9900)])
    await _ingest(ctx, [_event(sid, "changed", day(4), plan_tier="scale", mrr_minor=9900)])
    assert await _state(ctx) == before


async def test_events_out_of_order_in_one_batch_or_across_batches_agree(ctx: AppContext) -> None:
    events = [
        ("changed", day(2), {"plan_tier": "professional", "mrr_minor": 4900}),
        ("cancelled", day(4), {"reason": "closing"}),
        ("changed", day(5), {"plan_tier": "scale", "mrr_minor": 9900}),
    ]
    sid = await _supplier(ctx)
    await _ingest(ctx, [_event(sid, k, at, **props) for k, at, props in reversed(events)])
    in_one = await _state(ctx)
    sid = await _supplier(ctx)
    for k, at, props in reversed(events):  # newest first, one batch each
        await _ingest(ctx, [_event(sid, k, at, **props)])
    assert await _state(ctx) == in_one
    periods, row = in_one
    assert periods == [
        p("starter", day(1), day(2), 1900),
        p("professional", day(2), day(4), 4900),
        p("scale", day(5), None, 9900),
    ]
    assert (row["status"], row["plan"], row["started"]) == ("active", "scale", day(5))


def _check(periods: list[Period], row: dict[str, Any]) -> None:
    """The history is well formed and the row says what it says."""
    for i, a in enumerate(periods):
        assert a.ends_at is None or a.ends_at > a.starts_at
        assert not any(a.plan == b.plan and a.overlaps(b) for b in periods[i + 1 :])
    derived = current_subscription(periods, at=NOW, status_now=row["status"])
    if derived is None:  # no usable event yet: no history, the row as it was created
        assert periods == []
        return
    assert (row["status"], row["plan"], row["mrr"], row["started"], row["ended"]) == (
        derived.status,
        derived.plan_tier,
        derived.mrr_minor,
        derived.started_at,
        derived.ended_at,
    )


# Events refuse NUL and lone surrogates (neither can be stored as text), rightly.
NO_NUL = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))
INT64 = st.integers(-(2**63), 2**63 - 1)  # events refuse wider integers, rightly
HOSTILE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    INT64,
    st.floats(allow_nan=False, allow_infinity=False),  # events refuse NaN and infinity
    st.text(NO_NUL, max_size=20),
    st.sampled_from(["scale", "starter", "cancelled", "past_due", "active", "EUR", "gbp"]),
    st.lists(INT64, max_size=2),
    st.dictionaries(st.text(NO_NUL, max_size=3), INT64, max_size=2),
)
PROPERTIES = st.dictionaries(
    st.sampled_from(["plan_tier", "mrr_minor", "currency", "status", "reason", "other"]),
    HOSTILE_VALUES,
    max_size=5,
)
EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["changed", "cancelled"]),
        st.integers(0, 24 * 150).map(lambda h: day(1) + timedelta(hours=h)),
        PROPERTIES,
    ),
    max_size=8,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batches=st.lists(EVENTS, min_size=1, max_size=2))
async def test_any_events_keep_the_history_well_formed_and_the_row_derived(
    ctx: AppContext, batches: list[list[tuple[str, datetime, dict[str, Any]]]]
) -> None:
    sid = await _supplier(ctx)
    sent: list[dict[str, Any]] = []
    for batch in batches:
        events = [_event(sid, kind, at, **props) for kind, at, props in batch]
        async with ctx.db.transaction() as session:
            stored = await store(session=session, ctx=ctx, items=events)
        # Hostile properties never refuse the event: only the usable ones apply.
        assert stored.result.rejected == 0, stored.result.errors
        sent.extend(events)
        _check(*(await _state(ctx)))
    before = await _state(ctx)
    await _ingest(ctx, sent)  # every one of them again: duplicates, nothing changes
    assert await _state(ctx) == before


async def test_concurrent_events_for_one_supplier_leave_one_consistent_history(
    ctx: AppContext,
) -> None:
    sid = await _supplier(ctx)

    async def send(k: int) -> None:
        kind = "cancelled" if k % 3 == 2 else "changed"
        props = {"plan_tier": ["scale", "professional"][k % 2], "mrr_minor": 1000 + k}
        await _ingest(ctx, [_event(sid, kind, day(2) + timedelta(days=k), **props)])

    await asyncio.gather(*(send(k) for k in range(8)))
    periods, row = await _state(ctx)
    _check(periods, row)
    # Whatever order they committed in, each change opened its period at its instant (only
    # an event at the same instant could remove it), and the newest change holds now.
    opened = {(q.starts_at, q.plan, q.mrr_minor) for q in periods}
    for k in range(8):
        if k % 3 != 2:
            plan = ["scale", "professional"][k % 2]
            assert (day(2) + timedelta(days=k), plan, 1000 + k) in opened
    assert periods[-1] == p("professional", day(2) + timedelta(days=7), None, 1007)
    assert (row["status"], row["plan"], row["mrr"]) == ("active", "professional", 1007)
