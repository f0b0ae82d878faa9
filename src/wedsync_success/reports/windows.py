"""The periods of a report: a window ``[from, to)`` cut into weeks, months or quarters."""

from __future__ import annotations

import calendar
import enum
from datetime import date, timedelta

from wedsync_success.kit.errors import ValidationFailed


class ReportPeriod(enum.StrEnum):
    """The length of each period of a report."""

    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


MAX_PERIODS = 60
"""The most periods one report computes (five years of months, fifteen of quarters, 60
weeks): memory grows with suppliers × periods."""


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def step(start: date, period: ReportPeriod, k: int) -> date:
    """The day ``k`` periods after ``start`` (counted from ``start``, so months do not drift)."""
    if period is ReportPeriod.WEEK:
        return start + timedelta(weeks=k)
    return _add_months(start, k * (3 if period is ReportPeriod.QUARTER else 1))


def boundaries(*, start: date, end: date, period: ReportPeriod) -> list[date]:
    """The report's period boundaries: ``start``, then one period after another from it
    (a month after 31 January is the last day of February), the last cut at ``end``.
    Refused naming the field: ``end`` not after ``start``, more than :data:`MAX_PERIODS`."""
    if end <= start:
        raise invalid("to", "must be after from")
    edges = [start]
    while edges[-1] < end:
        if len(edges) > MAX_PERIODS:
            raise invalid(
                "to",
                f"at most {MAX_PERIODS} periods per report; shorten the window or "
                "choose a longer period",
            )
        edges.append(min(step(start, period, len(edges)), end))
    return edges


def invalid(field: str, reason: str) -> ValidationFailed:
    """A refused report request, naming the field."""
    return ValidationFailed(
        f"Invalid report request: {field}", details=[{"field": field, "reason": reason}]
    )
