"""Calendar-month arithmetic for the history reports (UTC month starts)."""

from __future__ import annotations

from datetime import date, datetime

from wedsync_success.kit.clock import start_of_day
from wedsync_success.kit.currency import Rates
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.reports.history_schemas import StatedRates

AVERAGE_MONTH_DAYS = 30.4375
"""The Gregorian year's mean month (365.25 / 12): durations in days become months with it."""


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def month_of(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def month_starts(first: date, last: date) -> list[datetime]:
    """Midnight UTC of the first day of every month from ``first``'s through ``last``'s."""
    return [start_of_day(month_of(i)) for i in range(month_index(first), month_index(last) + 1)]


MAX_RANGE_MONTHS = 240
"""The longest range a history report takes (20 years): its months become one small table
in the query, and SQLite allows at most 500 terms in a compound SELECT."""


def check_range(start: date, end: date, *, start_field: str, end_field: str) -> None:
    """Refuse a range that ends before it starts, or spans more than
    :data:`MAX_RANGE_MONTHS` months, naming the field."""
    if end < start:
        raise ValidationFailed(
            f"{end_field} ({end}) is before {start_field} ({start}).",
            details=[{"field": end_field, "reason": f"must not be before {start_field}"}],
        )
    if month_index(end) - month_index(start) >= MAX_RANGE_MONTHS:
        reason = f"must be within {MAX_RANGE_MONTHS} months of {start_field}"
        raise ValidationFailed(
            f"{end_field} ({end}) {reason} ({start}).",
            details=[{"field": end_field, "reason": reason}],
        )


def stated(rates: Rates) -> StatedRates:
    """The reporting currency and every rate a report may have used."""
    return StatedRates(currency=rates.reporting, rates=dict(sorted(rates.to_reporting.items())))
