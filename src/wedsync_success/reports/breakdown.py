"""Churn over a window broken down by cancellation reason, vendor type, plan, country,
tenure band or acquisition channel.

Churn is the design notes' logo churn over ``[from, to]`` (days, both included): suppliers
active at the window's first instant and not at its end. For a segment: its suppliers active
at the start, and those of them who left. By *cancellation reason* there is no "active" per
reason (only those who left have one), so each reason's rate is its churned suppliers over
everyone active at the start: the rates add up to the total churn rate.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.kit.clock import start_of_day
from wedsync_success.kit.currency import Rates
from wedsync_success.reports import repository
from wedsync_success.reports.history_schemas import BreakdownBy, BreakdownRow, ChurnBreakdown
from wedsync_success.reports.months import AVERAGE_MONTH_DAYS, check_range, stated
from wedsync_success.reports.segments import Segment, segment_key

DEFINITION = (
    "Churned: suppliers active at the window's first instant and not at its end. Rate: "
    "churned / active at the start (by cancellation reason: / everyone active at the start). "
    "Monthly rate: 1 - (1 - rate)^(30.4375 / days). Tenure band: signup to the window's "
    "start. Plan: the plan on the supplier row (the last one, for those who left)."
)


def _row(
    key: str, active: int, churned: int, mrr: float, lost: float, *, days: int, all_churned: int
) -> BreakdownRow:
    rate = churned / active if active else None
    monthly = None if rate is None else 1 - (1 - rate) ** (AVERAGE_MONTH_DAYS / days)
    return BreakdownRow(
        key=key,
        active_at_start=active,
        churned=churned,
        churn_rate=None if rate is None else round(rate, 6),
        monthly_churn_rate=None if monthly is None else round(monthly, 6),
        share_of_churned=round(churned / all_churned, 6) if all_churned else None,
        churned_mrr_minor=round(lost),
        mrr_at_start_minor=round(mrr),
    )


async def churn_breakdown(
    session: AsyncSession,
    *,
    window_from: date,
    window_to: date,
    by: BreakdownBy,
    rates: Rates,
) -> ChurnBreakdown:
    """Churn in ``[window_from, window_to]`` per segment of ``by``, and in total."""
    check_range(window_from, window_to, start_field="from", end_field="to")
    start, end = start_of_day(window_from), start_of_day(window_to + timedelta(days=1))
    days = (window_to - window_from).days + 1
    rows = await repository.window_churn(
        session, key=segment_key(Segment(by.value), at=start), bounds=[start, end], rates=rates
    )
    active = sum(r.active_at_start for r in rows)
    churned = sum(r.churned for r in rows)
    total = _row(
        "total",
        active,
        churned,
        sum(r.mrr_at_start for r in rows),
        sum(r.churned_mrr for r in rows),
        days=days,
        all_churned=churned,
    )
    by_reason = by is BreakdownBy.CANCELLATION_REASON
    segments = [
        _row(
            r.key,
            active if by_reason else r.active_at_start,
            r.churned,
            r.mrr_at_start,
            r.churned_mrr,
            days=days,
            all_churned=churned,
        )
        for r in sorted(rows, key=lambda r: (-r.churned, r.key))
        if not (by_reason and r.churned == 0)
    ]
    return ChurnBreakdown(
        by=by,
        window_from=window_from,
        window_to=window_to,
        days=days,
        reporting=stated(rates),
        definition=DEFINITION,
        total=total,
        rows=segments,
    )
