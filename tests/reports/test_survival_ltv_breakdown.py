"""Survival, LTV and churn breakdowns on one small hand-computed history.

Seven suppliers; six sign up on 1 January 2026, one (s7) a year earlier. As of 15 June:
s1 left 1 Feb, s2 1 Mar, s4 1 Apr, s6 1 May; s3 and s7 are still customers; s5 paused from
1 Feb to 1 Mar and is back (billed periods), so it is censored, not churned.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest
from lifelines import KaplanMeierFitter

from tests.reports.history import period_row, store, supplier_row
from wedsync_success.context import AppContext
from wedsync_success.kit.currency import DEFAULT_RATES
from wedsync_success.reports.breakdown import churn_breakdown
from wedsync_success.reports.history_schemas import BreakdownBy, SegmentBy
from wedsync_success.reports.ltv import lifetime_value
from wedsync_success.reports.survival import survival_curves

AS_OF = date(2026, 6, 15)
MONTH = 30.4375


async def _history(ctx: AppContext) -> None:
    s1 = supplier_row("2026-01-01", ended="2026-02-01", cancellation_reason="closed business")
    s2 = supplier_row("2026-01-01", ended="2026-03-01", cancellation_reason="too expensive")
    s3 = supplier_row("2026-01-01")
    s4 = supplier_row(
        "2026-01-01", ended="2026-04-01", mrr=2000, cancellation_reason="too expensive"
    )
    s5 = supplier_row("2026-01-01")
    s6 = supplier_row("2026-01-01", ended="2026-05-01", vendor_type="photographer")
    s7 = supplier_row("2025-01-01")
    periods = [period_row(s5, "2026-01-01", "2026-02-01"), period_row(s5, "2026-03-01", None)]
    await store(ctx, [s1, s2, s3, s4, s5, s6, s7], periods)


async def test_kaplan_meier_matches_the_hand_computation(ctx: AppContext) -> None:
    await _history(ctx)
    async with ctx.db.sessions() as session:
        report = await survival_curves(
            session,
            as_of=AS_OF,
            rates=DEFAULT_RATES,
            signed_up_from=date(2026, 1, 1),
            signed_up_to=date(2026, 1, 31),
        )
    (curve,) = report.curves
    assert (curve.suppliers, curve.churned, curve.censored) == (6, 4, 2)
    # Deaths at 31, 59, 90 and 120 days with 6, 5, 4, 3 at risk; s3 and s5 censored at 166.
    survival = [p.survival for p in curve.points]
    assert survival == pytest.approx([1, 1, 4 / 6, 3 / 6, 2 / 6, 2 / 6, 2 / 6], abs=1e-6)
    assert [p.at_risk for p in curve.points] == [6, 6, 4, 3, 2, 2, 0]
    assert report.logrank_p_value is None
    # The bands and the median are lifelines' own on the same durations (S reaches exactly
    # 1/2 at 90 days; lifelines' median is the first time it is below).
    days = np.array([31, 59, 90, 120, 166, 166], dtype=float)
    events = np.array([1, 1, 1, 1, 0, 0], dtype=bool)
    median = KaplanMeierFitter().fit(days / MONTH, events).median_survival_time_
    assert curve.median_months == pytest.approx(median, abs=1e-4)
    assert median in (pytest.approx(90 / MONTH), pytest.approx(120 / MONTH))
    direct = KaplanMeierFitter().fit(days / MONTH, events, timeline=np.arange(7.0))
    bands = direct.confidence_interval_survival_function_.to_numpy()
    assert [p.lower for p in curve.points] == pytest.approx(bands[:, 0].tolist(), abs=1e-6)
    assert [p.upper for p in curve.points] == pytest.approx(bands[:, 1].tolist(), abs=1e-6)


async def test_survival_by_segment_has_a_logrank_p_value(ctx: AppContext) -> None:
    await _history(ctx)
    async with ctx.db.sessions() as session:
        report = await survival_curves(
            session, as_of=AS_OF, rates=DEFAULT_RATES, by=SegmentBy.VENDOR_TYPE
        )
    assert [c.key for c in report.curves] == ["florist", "photographer"]
    assert [c.suppliers for c in report.curves] == [6, 1]
    assert report.logrank_p_value is not None
    assert 0 < report.logrank_p_value <= 1


async def test_ltv_formula(ctx: AppContext) -> None:
    await _history(ctx)
    async with ctx.db.sessions() as session:
        report = await lifetime_value(
            session,
            window_from=date(2026, 1, 1),
            window_to=date(2026, 6, 30),  # June is not complete on 15 June: left out
            as_of=AS_OF,
            rates=DEFAULT_RATES,
            gross_margin=0.8,
        )
    assert report.months == 5
    assert report.gross_margin == 0.8
    (segment,) = report.segments
    # Active at the month starts Jan..May: 7, 5, 5, 4, 3; churned 2 (s1, s5's pause), 1, 1,
    # 1, 0. MRR then: 8000, 6000, 6000, 4000, 3000.
    assert (segment.supplier_months, segment.churned) == (24, 5)
    assert segment.monthly_logo_churn == pytest.approx(5 / 24, abs=1e-6)
    assert segment.arpa_minor == 1125
    assert segment.ltv_minor == 4320  # 1125 x 0.8 / (5 / 24)
    assert segment.sbg is None  # too few suppliers to fit


async def test_ltv_with_enough_history_fits_the_sbg_model(ctx: AppContext) -> None:
    rows = [
        supplier_row("2025-01-01", ended=f"2025-{m:02d}-01" if m <= 12 else None)
        for m in (*range(2, 13), *([13] * 19))
    ]
    await store(ctx, rows)
    async with ctx.db.sessions() as session:
        report = await lifetime_value(
            session,
            window_from=date(2025, 1, 1),
            window_to=date(2025, 12, 31),
            as_of=date(2025, 12, 31),
            rates=DEFAULT_RATES,
            gross_margin=0.75,
            supplier_limit=3,
        )
    (segment,) = report.segments
    assert segment.sbg is not None
    assert segment.sbg.suppliers == 30
    assert segment.sbg.expected_lifetime_months > 1
    assert segment.arpa_minor == 1000
    assert segment.sbg_ltv_minor == pytest.approx(
        1000 * 0.75 * segment.sbg.expected_lifetime_months, abs=1
    )
    assert len(report.suppliers) == 3
    first = report.suppliers[0]
    assert first.tenure_months == 11
    assert first.expected_remaining_value_minor == round(
        1000 * 0.75 * first.expected_remaining_months
    )


async def _breakdown(ctx: AppContext, by: BreakdownBy) -> Any:
    async with ctx.db.sessions() as session:
        return await churn_breakdown(
            session,
            window_from=date(2026, 3, 1),
            window_to=date(2026, 3, 31),
            by=by,
            rates=DEFAULT_RATES,
        )


async def test_churn_breakdowns(ctx: AppContext) -> None:
    await _history(ctx)
    # Active on 1 March: s3, s4, s5, s6, s7 (s2 ended at that very instant); s4 leaves at
    # midnight on 1 April, the window's end.
    by_vendor = await _breakdown(ctx, BreakdownBy.VENDOR_TYPE)
    assert (by_vendor.total.active_at_start, by_vendor.total.churned) == (5, 1)
    assert by_vendor.total.churn_rate == 0.2
    assert by_vendor.total.monthly_churn_rate == pytest.approx(1 - 0.8 ** (MONTH / 31), abs=1e-6)
    assert by_vendor.total.churned_mrr_minor == 2000
    rows = {r.key: (r.active_at_start, r.churned) for r in by_vendor.rows}
    assert rows == {"florist": (4, 1), "photographer": (1, 0)}

    by_reason = await _breakdown(ctx, BreakdownBy.CANCELLATION_REASON)
    assert [(r.key, r.active_at_start, r.churned, r.churn_rate) for r in by_reason.rows] == [
        ("too expensive", 5, 1, 0.2)
    ]
    by_tenure = await _breakdown(ctx, BreakdownBy.TENURE_BAND)
    tenure = {r.key: (r.active_at_start, r.churned) for r in by_tenure.rows}
    assert tenure == {"0-3 months": (4, 1), "12-24 months": (1, 0)}
