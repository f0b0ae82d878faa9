"""The windows the history reports default to, shared by the API and the CLI."""

from __future__ import annotations

from datetime import date

from wedsync_success.reports.months import month_of


def months_before(day: date, months: int) -> date:
    """The first day of the month ``months`` before ``day``'s."""
    return month_of(day.year * 12 + day.month - 1 - months)


def cohort_defaults(as_of: date, start: date | None, end: date | None) -> tuple[date, date]:
    """Signups from the first of the month a year before ``as_of``, through ``as_of``."""
    return start or months_before(as_of, 12), end or as_of


def ltv_defaults(as_of: date, start: date | None, end: date | None) -> tuple[date, date]:
    """The twelve complete months before ``as_of``'s month."""
    return start or months_before(as_of, 12), end or months_before(as_of, 1)
