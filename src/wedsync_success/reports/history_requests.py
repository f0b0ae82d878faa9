"""The history reports as a request asks for them, the one place both the API
(``history_api.py``) and the command line (``history_cli.py``) call: a day left out takes
its default window, the deployment's rates and gross margin are filled in, and a window
refused is refused naming the day the caller gave (a default is not theirs to change).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.config import Settings
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.reports.breakdown import churn_breakdown
from wedsync_success.reports.cohorts import cohort_retention
from wedsync_success.reports.history_schemas import (
    BreakdownBy,
    ChurnBreakdown,
    CohortBy,
    CohortMetric,
    CohortTable,
    LtvReport,
    SegmentBy,
    SurvivalReport,
)
from wedsync_success.reports.ltv import lifetime_value
from wedsync_success.reports.months import check_range, month_of
from wedsync_success.reports.survival import survival_curves

BREAKDOWN_DAYS = 30
"""The churn breakdown's default window: the 30 days through ``to``."""


def months_before(day: date, months: int) -> date:
    """The first day of the month ``months`` before ``day``'s."""
    return month_of(day.year * 12 + day.month - 1 - months)


def _window(
    given_from: date | None, given_to: date | None, default_from: date, default_to: date
) -> tuple[date, date]:
    """The window with its defaults filled in; refused (the reports' own rule) naming ``from``
    when only ``from`` was given, else ``to``."""
    first, last = given_from or default_from, given_to or default_to
    try:
        check_range(first, last, start_field="from", end_field="to")
    except ValidationFailed as exc:
        if given_to is not None or given_from is None:
            raise
        reason = f"with the default to ({last}), to {exc.details[0]['reason']}"
        raise ValidationFailed(
            f"from ({first}): {exc.message}", details=[{"field": "from", "reason": reason}]
        ) from None
    return first, last


def request_window(
    given_from: date | None, given_to: date | None, default_from: date, default_to: date
) -> tuple[date, date]:
    """The same window rule for the other reports' requests (success attribution)."""
    return _window(given_from, given_to, default_from, default_to)


async def cohorts(
    session: AsyncSession,
    *,
    settings: Settings,
    as_of: date,
    signed_up_from: date | None,
    signed_up_to: date | None,
    by: CohortBy,
    metric: CohortMetric,
    max_age: int,
) -> CohortTable:
    """Signups from the first of the month a year before ``as_of`` through ``as_of`` by
    default."""
    first, last = _window(signed_up_from, signed_up_to, months_before(as_of, 12), as_of)
    return await cohort_retention(
        session,
        signed_up_from=first,
        signed_up_to=last,
        as_of=as_of,
        rates=settings.rates,
        by=by,
        metric=metric,
        max_age=max_age,
    )


async def survival(
    session: AsyncSession,
    *,
    settings: Settings,
    as_of: date,
    by: SegmentBy,
    signed_up_from: date | None,
    signed_up_to: date | None,
    horizon_months: int,
) -> SurvivalReport:
    """Every supplier by default (either bound left out is open)."""
    return await survival_curves(
        session,
        as_of=as_of,
        rates=settings.rates,
        by=by,
        signed_up_from=signed_up_from,
        signed_up_to=signed_up_to,
        horizon_months=horizon_months,
    )


async def ltv(
    session: AsyncSession,
    *,
    settings: Settings,
    as_of: date,
    by: SegmentBy,
    window_from: date | None,
    window_to: date | None,
    supplier_limit: int = 0,
) -> LtvReport:
    """The churn window defaults to the twelve complete months before ``as_of``'s month."""
    first, last = _window(window_from, window_to, months_before(as_of, 12), months_before(as_of, 1))
    return await lifetime_value(
        session,
        window_from=first,
        window_to=last,
        as_of=as_of,
        rates=settings.rates,
        gross_margin=settings.gross_margin,
        by=by,
        supplier_limit=supplier_limit,
    )


async def breakdown(
    session: AsyncSession,
    *,
    settings: Settings,
    today: date,
    by: BreakdownBy,
    window_from: date | None,
    window_to: date | None,
) -> ChurnBreakdown:
    """The window defaults to the :data:`BREAKDOWN_DAYS` days through ``to`` (today)."""
    last = window_to or today
    first, last = _window(window_from, window_to, last - timedelta(days=BREAKDOWN_DAYS - 1), last)
    return await churn_breakdown(
        session, window_from=first, window_to=last, by=by, rates=settings.rates
    )
