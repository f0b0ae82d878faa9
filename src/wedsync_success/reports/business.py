"""Everything the Business page and the monthly report show, for one month and its trend.

One gathering for both, so the page a CEO browses and the report they are emailed cannot
disagree: retention and MRR movements, cohorts, survival, lifetime value, churn by reason,
NPS and CSAT, the return on each playbook, and the churn model on real outcomes — each
computed from history for the stated window, never from "now".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.kit.currency import Rates
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.reports.accuracy import model_accuracy
from wedsync_success.reports.accuracy_schemas import ModelAccuracyReport
from wedsync_success.reports.attribution import attribution_report
from wedsync_success.reports.attribution_schemas import AttributionReport, CreditModel
from wedsync_success.reports.breakdown import churn_breakdown
from wedsync_success.reports.cohorts import cohort_retention
from wedsync_success.reports.costs import ProgrammeCosts
from wedsync_success.reports.history_schemas import (
    BreakdownBy,
    ChurnBreakdown,
    CohortTable,
    LtvReport,
    SegmentBy,
    SurvivalReport,
)
from wedsync_success.reports.ltv import lifetime_value
from wedsync_success.reports.retention import retention_report
from wedsync_success.reports.roi import roi_report
from wedsync_success.reports.roi_schemas import RoiReport
from wedsync_success.reports.schemas import RetentionReport
from wedsync_success.reports.survival import survival_curves
from wedsync_success.reports.windows import ReportPeriod
from wedsync_success.surveys.metrics import csat_report, nps_report
from wedsync_success.surveys.schemas import CsatReport, NpsReport, Segment

TREND_MONTHS = 12
"""Months of trend shown before and including the report's month."""
MAX_TREND_MONTHS = 36


@dataclass(frozen=True)
class BusinessPack:
    """The reports behind one Business page or monthly report."""

    month: date
    """First day of the month reported on."""
    trend_from: date
    """First day of the trend window (``months`` months ending with ``month``)."""
    end: date
    """First day after ``month``: every window ends here, excluded."""
    as_of: datetime
    retention: RetentionReport
    cohorts: CohortTable
    survival: SurvivalReport
    ltv: LtvReport
    churn_reasons: ChurnBreakdown
    nps: NpsReport
    csat: CsatReport
    roi: RoiReport
    accuracy: ModelAccuracyReport
    segment: SegmentBy
    attribution: AttributionReport
    """Conversions of the trend window and the touches credited for them."""


def month_start(day: date, back: int = 0) -> date:
    """The first day of ``day``'s month, ``back`` months earlier."""
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def parse_month(value: str, field: str = "month") -> date:
    """``YYYY-MM`` → its first day; anything else is refused naming ``field``."""
    try:
        parsed = datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        reason = "must be a month as YYYY-MM"
        raise ValidationFailed(
            f"{field} {reason}", details=[{"field": field, "reason": reason}]
        ) from None
    if not 2000 <= parsed.year <= 2100:
        reason = "must be between 2000-01 and 2100-12"
        raise ValidationFailed(f"{field} {reason}", details=[{"field": field, "reason": reason}])
    return parsed


def last_complete_month(today: date) -> date:
    return month_start(today, back=1)


def check_window(*, month: date, months: int, today: date) -> None:
    """Refuse a trend that is too long or a month still to come, naming the field."""
    if not 1 <= months <= MAX_TREND_MONTHS:
        reason = f"must be between 1 and {MAX_TREND_MONTHS}"
        raise ValidationFailed(f"months {reason}", details=[{"field": "months", "reason": reason}])
    if month > month_start(today):
        reason = "must not be after the current month"
        raise ValidationFailed(f"month {reason}", details=[{"field": "month", "reason": reason}])


async def business_pack(
    *,
    session: AsyncSession,
    month: date,
    months: int,
    today: date,
    rates: Rates,
    gross_margin: float,
    holdouts: Mapping[str, float],
    costs: ProgrammeCosts,
    segment: SegmentBy = SegmentBy.VENDOR_TYPE,
    attribution_window_days: int = 30,
) -> BusinessPack:
    """Gather the reports for ``month`` (a month's first day) and the ``months`` before it."""
    check_window(month=month, months=months, today=today)
    end = month_start(month, back=-1)
    trend_from = month_start(month, back=months - 1)
    as_of_day = min(end, today)
    as_of = datetime.combine(as_of_day, time(), tzinfo=UTC)
    retention = await retention_report(
        session=session, start=trend_from, end=end, period=ReportPeriod.MONTH, rates=rates
    )
    cohorts = await cohort_retention(
        session, signed_up_from=trend_from, signed_up_to=month, as_of=as_of_day, rates=rates
    )
    survival = await survival_curves(session, as_of=as_of_day, rates=rates, by=segment)
    ltv = await lifetime_value(
        session,
        window_from=trend_from,
        window_to=month,
        as_of=as_of_day,
        rates=rates,
        gross_margin=gross_margin,
        by=segment,
    )
    reasons = await churn_breakdown(
        session,
        window_from=month,
        window_to=end - timedelta(days=1),
        by=BreakdownBy.CANCELLATION_REASON,
        rates=rates,
    )
    nps = await nps_report(
        session=session, start=trend_from, end=end, period=ReportPeriod.MONTH, by=Segment.NONE
    )
    csat = await csat_report(
        session=session, start=trend_from, end=end, period=ReportPeriod.MONTH, by=Segment.NONE
    )
    roi = await roi_report(
        session=session,
        start=trend_from,
        end=end,
        as_of=as_of,
        holdouts=holdouts,
        costs=costs,
        rates=rates,
    )
    accuracy = await model_accuracy(session=session, start=trend_from, end=end, as_of=as_of)
    attribution = await attribution_report(
        session=session,
        start=trend_from,
        end=end,
        window_days=attribution_window_days,
        models=list(CreditModel),
        rates=rates,
    )
    return BusinessPack(
        month=month,
        trend_from=trend_from,
        end=end,
        as_of=as_of,
        retention=retention,
        cohorts=cohorts,
        survival=survival,
        ltv=ltv,
        churn_reasons=reasons,
        nps=nps,
        csat=csat,
        roi=roi,
        accuracy=accuracy,
        segment=segment,
        attribution=attribution,
    )
