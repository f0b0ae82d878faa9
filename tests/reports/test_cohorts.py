"""Cohort retention on a small hand-computed history (see each figure's comment)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.reports.history import period_row, store, supplier_row
from wedsync_success.context import AppContext
from wedsync_success.kit.currency import DEFAULT_RATES
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.reports.cohorts import cohort_retention
from wedsync_success.reports.history_schemas import CohortBy, CohortMetric, CohortTable

AS_OF = date(2026, 6, 15)


async def _history(ctx: AppContext) -> None:
    a = supplier_row("2026-01-10", mrr=1000)
    b = supplier_row("2026-01-20", ended="2026-03-01", mrr=2000)  # gone at 1 March exactly
    c = supplier_row("2026-01-05", vendor_type="photographer")
    d = supplier_row("2026-02-14", ended="2026-02-20", mrr=500)  # left within its month
    e = supplier_row("2026-02-01", mrr=1500, vendor_type="photographer")
    outside = supplier_row("2025-12-31", mrr=9999)  # signed up before the range
    periods = [  # c: upgrade on 5 Feb, a gap from 5 April, back on 10 May
        period_row(c, "2026-01-05", "2026-02-05", mrr=1000),
        period_row(c, "2026-02-05", "2026-04-05", mrr=3000, plan="professional"),
        period_row(c, "2026-05-10", None, mrr=1200, discount=200),
    ]
    await store(ctx, [a, b, c, d, e, outside], periods)


async def _table(ctx: AppContext, **kw: Any) -> CohortTable:
    async with ctx.db.sessions() as session:
        return await cohort_retention(
            session,
            signed_up_from=date(2026, 1, 1),
            signed_up_to=date(2026, 2, 28),
            as_of=AS_OF,
            rates=DEFAULT_RATES,
            **kw,
        )


def _cells(table: CohortTable, key: str, field: str) -> list[Any]:
    row = next(r for r in table.rows if r.key == key)
    return [getattr(c, field) for c in row.cells]


async def test_signup_month_cohorts(ctx: AppContext) -> None:
    await _history(ctx)
    table = await _table(ctx)
    assert [r.key for r in table.rows] == ["2026-01", "2026-02"]
    jan = table.rows[0]
    assert (jan.size, jan.start_mrr_minor) == (3, 4000)
    # Ages 0..5 at signup, 1 Feb, 1 Mar, 1 Apr, 1 May, 1 Jun; 1 Jul is after as_of.
    assert _cells(table, "2026-01", "active") == [3, 3, 2, 2, 1, 2]
    assert _cells(table, "2026-01", "mrr_minor") == [4000, 4000, 4000, 4000, 1000, 2000]
    assert _cells(table, "2026-01", "value") == [1.0, 1.0, 0.6667, 0.6667, 0.3333, 0.6667]
    assert _cells(table, "2026-01", "revenue_retention") == [1.0, 1.0, 1.0, 1.0, 0.25, 0.5]
    # February: d left before 1 March; 1 Jul (age 5) not yet observed.
    assert _cells(table, "2026-02", "active") == [2, 1, 1, 1, 1]
    assert _cells(table, "2026-02", "logo_retention") == [1.0, 0.5, 0.5, 0.5, 0.5]
    assert _cells(table, "2026-02", "revenue_retention") == [1.0, 0.75, 0.75, 0.75, 0.75]


async def test_segment_cohorts_count_only_members_whose_age_is_observed(
    ctx: AppContext,
) -> None:
    await _history(ctx)
    table = await _table(ctx, by=CohortBy.VENDOR_TYPE, metric=CohortMetric.REVENUE)
    assert [r.key for r in table.rows] == ["florist", "photographer"]
    assert _cells(table, "florist", "members") == [3, 3, 3, 3, 3, 2]
    assert _cells(table, "florist", "active") == [3, 2, 1, 1, 1, 1]
    assert _cells(table, "florist", "logo_retention") == [1.0, 0.6667, 0.3333, 0.3333, 0.3333, 0.5]
    assert _cells(table, "florist", "value") == [1.0, 0.8571, 0.2857, 0.2857, 0.2857, 0.3333]
    # Expansion counts: c's upgrade lifts the photographers past 100 %.
    assert _cells(table, "photographer", "value") == [1.0, 1.0, 1.8, 1.8, 0.6, 1.0]
    assert _cells(table, "photographer", "members") == [2, 2, 2, 2, 2, 1]


async def test_max_age_limits_the_columns(ctx: AppContext) -> None:
    await _history(ctx)
    table = await _table(ctx, max_age=2)
    assert _cells(table, "2026-01", "age") == [0, 1, 2]


async def test_a_range_that_ends_before_it_starts_names_the_field(ctx: AppContext) -> None:
    async with ctx.db.sessions() as session:
        with pytest.raises(ValidationFailed) as caught:
            await cohort_retention(
                session,
                signed_up_from=date(2026, 3, 1),
                signed_up_to=date(2026, 2, 1),
                as_of=AS_OF,
                rates=DEFAULT_RATES,
            )
    assert caught.value.details[0]["field"] == "to"
