"""``supplier_coverage`` always says what the stored periods say: after any batch of imports
and subscription events, hostile ones included, after concurrent writers of one supplier,
and after the migration's backfill, on both backends. The oracle merges each supplier's
periods in Python (overlapping or touching periods form one stretch)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from tests.suppliers.test_period_import_equivalence import EXAMPLES, NOW, _batch, _seed
from tests.suppliers.test_subscription_event_history import _event, _supplier, day
from wedsync_success.context import AppContext
from wedsync_success.pipeline import store
from wedsync_success.suppliers.coverage import refresh_coverage
from wedsync_success.suppliers.history import import_periods
from wedsync_success.suppliers.models import SubscriptionPeriod, SupplierCoverage

Stretch = tuple[uuid.UUID, int, datetime, datetime | None, int, int | None]


def month_ceiling(at: datetime) -> int:
    """The number of the first month start at or after ``at``."""
    number = at.year * 12 + at.month - 1
    return number if at == datetime(at.year, at.month, 1, tzinfo=UTC) else number + 1


def merged(periods: list[tuple[uuid.UUID, datetime, datetime | None]]) -> list[Stretch]:
    """The stretches the rule gives: per supplier, periods by start, one joining the current
    stretch when it starts no later than the stretch's end."""
    out: list[Stretch] = []
    runs: dict[uuid.UUID, list[list[Any]]] = {}
    for sid, start, end in sorted(periods, key=lambda p: (p[0].hex, p[1])):
        mine = runs.setdefault(sid, [])
        if mine and (mine[-1][1] is None or start <= mine[-1][1]):
            last = mine[-1]
            last[1] = None if end is None or last[1] is None else max(last[1], end)
        else:
            mine.append([start, end])
    for sid, stretches in runs.items():
        for seq, (start, end) in enumerate(stretches, start=1):
            end_month = None if end is None else month_ceiling(end)
            out.append((sid, seq, start, end, month_ceiling(start), end_month))
    return sorted(out, key=lambda s: (s[0].hex, s[1]))


async def assert_coverage_is_derived(ctx: AppContext) -> None:
    async with ctx.db.sessions() as session:
        p, c = SubscriptionPeriod, SupplierCoverage
        periods = (await session.execute(select(p.supplier_id, p.starts_at, p.ends_at))).all()
        stored = (
            await session.execute(
                select(c.supplier_id, c.seq, c.starts_at, c.ends_at, c.start_month, c.end_month)
            )
        ).all()
    expected = merged([tuple(row) for row in periods])  # type: ignore[misc]
    assert sorted((tuple(r) for r in stored), key=lambda s: (s[0].hex, s[1])) == expected


@EXAMPLES
@given(batches=st.lists(_batch(), min_size=1, max_size=3))
async def test_any_imports_leave_the_coverage_of_the_periods(
    ctx: AppContext, batches: list[list[dict[str, Any]]]
) -> None:
    await _seed(ctx)
    for items in batches:
        async with ctx.db.transaction() as session:
            await import_periods(session=session, items=items, now=NOW)
        await assert_coverage_is_derived(ctx)


_KIND = st.sampled_from(["changed", "cancelled", "started"])
_AT = st.integers(0, 200).map(lambda d: day(1) + timedelta(days=d))
_PROPS = st.fixed_dictionaries(
    {},
    optional={
        "plan_tier": st.sampled_from(["starter", "scale", "", "\ud800"]),
        "mrr_minor": st.one_of(st.integers(-10, 20_000), st.text(max_size=3)),
    },
)


@EXAMPLES
@given(events=st.lists(st.tuples(_KIND, _AT, _PROPS), min_size=1, max_size=6))
async def test_any_subscription_events_leave_the_coverage_of_the_periods(
    ctx: AppContext, events: list[tuple[str, datetime, dict[str, Any]]]
) -> None:
    sid = await _supplier(ctx)
    for kind, at, props in events:
        async with ctx.db.transaction() as session:
            await store(session=session, ctx=ctx, items=[_event(sid, kind, at, **props)])
        await assert_coverage_is_derived(ctx)


async def test_a_gap_splits_and_a_touching_period_joins_a_stretch(ctx: AppContext) -> None:
    await _seed(ctx)
    row = {"supplier_external_id": "h1", "mrr_minor": 1900, "currency": "GBP"}
    items = [
        row | {"plan": "starter", "start_date": "2025-01-01", "end_date": "2025-02-01"},
        row | {"plan": "starter", "start_date": "2025-02-01", "end_date": "2025-03-10"},
        row | {"plan": "scale", "start_date": "2025-02-15", "end_date": "2025-03-20"},
        row | {"plan": "starter", "start_date": "2025-05-01"},  # after a gap, still open
    ]
    async with ctx.db.transaction() as session:
        result = await import_periods(session=session, items=items, now=NOW)
    assert result.errors == []
    async with ctx.db.sessions() as session:
        c = SupplierCoverage
        rows = (
            await session.execute(
                select(c.seq, c.starts_at, c.ends_at, c.start_month, c.end_month).order_by(c.seq)
            )
        ).all()
    jan = 2025 * 12
    assert [tuple(r) for r in rows] == [
        (1, datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 3, 20, tzinfo=UTC), jan, jan + 3),
        (2, datetime(2025, 5, 1, tzinfo=UTC), None, jan + 4, None),
    ]


async def test_concurrent_imports_of_one_supplier_leave_its_whole_coverage(
    ctx: AppContext,
) -> None:
    """Two imports touching the same supplier at once (different plans, so neither refuses
    the other): each refresh runs under the supplier's lock, after the other's commit or
    before its writes, so the coverage holds both."""
    await _seed(ctx)

    async def send(plan: str, months: range) -> None:
        items = [
            {
                "supplier_external_id": "h1",
                "plan": plan,
                "start_date": f"2025-{m:02d}-01",
                "end_date": f"2025-{m + 1:02d}-01",
                "mrr_minor": 1900,
                "currency": "GBP",
            }
            for m in months
        ]
        async with ctx.db.transaction() as session:
            result = await import_periods(session=session, items=items, now=NOW)
        assert result.errors == []

    for _ in range(3):
        await asyncio.gather(send("starter", range(1, 4)), send("scale", range(5, 8)))
        await asyncio.gather(send("professional", range(3, 6)), send("starter", range(9, 11)))
    await assert_coverage_is_derived(ctx)
    async with ctx.db.sessions() as session:
        c = SupplierCoverage
        rows = (await session.execute(select(c.starts_at, c.ends_at).order_by(c.seq))).all()
    assert [tuple(r) for r in rows] == [
        (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 8, 1, tzinfo=UTC)),
        (datetime(2025, 9, 1, tzinfo=UTC), datetime(2025, 11, 1, tzinfo=UTC)),
    ]


async def test_refreshing_every_supplier_rebuilds_the_same_coverage(ctx: AppContext) -> None:
    await _seed(ctx)
    row = {"supplier_external_id": "h2", "plan": "starter", "mrr_minor": 1, "currency": "GBP"}
    async with ctx.db.transaction() as session:
        await import_periods(session=session, items=[row | {"start_date": "2025-03-04"}], now=NOW)
    async with ctx.db.transaction() as session:
        await refresh_coverage(session=session, supplier_ids=None)
    await assert_coverage_is_derived(ctx)
