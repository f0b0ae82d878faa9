"""The simulated calendar: the day grid, wedding seasonality, weekday and hour-of-day rhythms.

Wedding businesses live by the calendar: couples enquire after the Christmas and New Year
engagement season, weddings (and so client work, invoices and payments) cluster from April to
September, and suppliers are at weddings on Saturdays rather than at their desks. Every rate in
the generator is multiplied by these curves, so that scores and models built on the data have
to cope with the same seasonality as the real product.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

DAY = 86_400
HOUR = 3_600

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Index 0 = January. Means are close to 1 so base rates keep their meaning.
WEDDING_SEASON: tuple[float, ...] = (
    0.55, 0.62, 0.80, 1.00, 1.25, 1.40, 1.42, 1.38, 1.25, 0.98, 0.72, 0.58,
)  # fmt: skip
"""Client work (journeys, invoices, payments) follows the weddings themselves."""

ENQUIRY_SEASON: tuple[float, ...] = (
    1.75, 1.55, 1.30, 1.00, 0.85, 0.78, 0.75, 0.80, 0.88, 0.92, 0.90, 1.20,
)  # fmt: skip
"""Couples enquire most after Christmas/New Year proposals, through the first quarter."""

SIGNUP_SEASON: tuple[float, ...] = (
    1.60, 1.50, 1.35, 1.00, 0.90, 0.80, 0.75, 0.75, 0.85, 0.95, 0.90, 0.65,
)  # fmt: skip
"""Suppliers adopt new tools when the enquiries arrive, and least in December."""

# Monday first, like ``date.weekday()``.
SUPPLIER_WEEKDAY: tuple[float, ...] = (1.18, 1.12, 1.10, 1.06, 1.00, 0.42, 0.72)
"""Suppliers do admin on weekdays; on Saturdays they are shooting, serving or playing weddings."""

COUPLE_WEEKDAY: tuple[float, ...] = (1.10, 0.95, 0.95, 0.95, 0.90, 0.85, 1.30)
"""Couples plan their wedding at the weekend and fill in enquiry forms on Sunday evenings."""

SIGNUP_WEEKDAY: tuple[float, ...] = (1.20, 1.15, 1.10, 1.05, 0.95, 0.55, 0.85)

WORK_HOURS: tuple[float, ...] = (
    0.15, 0.08, 0.04, 0.03, 0.04, 0.10, 0.40, 1.20, 2.50, 3.50, 3.80, 3.60,
    2.80, 3.00, 3.30, 3.20, 2.80, 2.20, 1.80, 2.00, 2.20, 1.80, 1.00, 0.45,
)  # fmt: skip
"""Local hour weights for supplier actions: office hours plus an evening admin session."""

COUPLE_HOURS: tuple[float, ...] = (
    0.30, 0.15, 0.08, 0.05, 0.05, 0.10, 0.30, 0.70, 1.00, 1.20, 1.30, 1.40,
    1.80, 1.60, 1.30, 1.20, 1.20, 1.40, 1.80, 2.40, 2.80, 2.60, 1.80, 0.90,
)  # fmt: skip
"""Local hour weights for couples: lunch breaks and evenings."""

BILLING_HOURS: tuple[float, ...] = (0,) * 2 + (1.0,) * 4 + (0,) * 18
"""The payment processor runs its batch between 02:00 and 06:00 UTC."""

ANY_HOURS: tuple[float, ...] = (1.0,) * 24
"""Automations (journey steps, calendar syncs) fire at any hour."""


@dataclass(frozen=True)
class Window:
    """The simulated period ``[start, end)`` and its grid of UTC days.

    Day ``d`` of the grid starts at ``day0_sec + d * DAY``; day 0 is the UTC midnight on or
    before ``start``, so the grid covers the whole window.
    """

    start: datetime
    end: datetime
    start_sec: int
    """The first whole second inside the window."""
    end_sec: int
    """Events must be strictly before this second."""
    day0_sec: int
    n_days: int
    day_sec: IntArray
    weekday: IntArray
    year_position: FloatArray
    """Position of each day in the year in months (0.0 = 1 January, 12.0 = next 1 January)."""

    def monthly(self, curve: tuple[float, ...], *, shift_months: int = 0) -> FloatArray:
        """A 12-value month curve as a smooth per-day factor (interpolated between mid-months)."""
        values = np.asarray(curve, dtype=np.float64)
        values = np.roll(values, shift_months)
        centred = np.mod(self.year_position - 0.5, 12.0)
        low = np.floor(centred).astype(np.int64)
        frac = centred - low
        result: FloatArray = values[low] * (1.0 - frac) + values[(low + 1) % 12] * frac
        return result

    def by_weekday(self, curve: tuple[float, ...]) -> FloatArray:
        """A 7-value weekday curve as a per-day factor."""
        result: FloatArray = np.asarray(curve, dtype=np.float64)[self.weekday]
        return result


def shift_months(moment: datetime, months: int) -> datetime:
    """``moment`` moved by whole calendar months, clamping the day (31 March - 1 = 28/29 Feb)."""
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def build_window(end: datetime, months: int) -> Window:
    """The window of ``months`` calendar months ending at ``end`` (tz-aware, any zone)."""
    if end.tzinfo is None or end.utcoffset() is None:
        raise ValueError("end must be a timezone-aware datetime")
    if months < 1:
        raise ValueError("months must be at least 1")
    end = end.astimezone(UTC)
    start = shift_months(end, -months)
    start_sec = math.ceil(start.timestamp())
    end_sec = math.ceil(end.timestamp())
    day0_sec = (start_sec // DAY) * DAY
    n_days = -(-(end_sec - day0_sec) // DAY)
    day_sec = day0_sec + DAY * np.arange(n_days, dtype=np.int64)
    days = day_sec.astype("datetime64[s]").astype("datetime64[D]")
    weekday = ((days.astype(np.int64) + 3) % 7).astype(np.int64)  # 1970-01-01 was a Thursday
    months_since_epoch = days.astype("datetime64[M]")
    month_start = months_since_epoch.astype("datetime64[D]")
    next_month_start = (months_since_epoch + 1).astype("datetime64[D]")
    day_in_month = (days - month_start).astype(np.float64)
    month_length = (next_month_start - month_start).astype(np.float64)
    month_of_year = (months_since_epoch.astype(np.int64) % 12).astype(np.float64)
    return Window(
        start=start,
        end=end,
        start_sec=start_sec,
        end_sec=end_sec,
        day0_sec=day0_sec,
        n_days=int(n_days),
        day_sec=day_sec,
        weekday=weekday,
        year_position=month_of_year + day_in_month / month_length,
    )


def seconds_of_day(
    rng: np.random.Generator, count: int, hour_weights: tuple[float, ...]
) -> IntArray:
    """Random seconds after midnight, with hours drawn from ``hour_weights``."""
    weights = np.asarray(hour_weights, dtype=np.float64)
    hours = rng.choice(24, size=count, p=weights / weights.sum())
    result: IntArray = hours.astype(np.int64) * HOUR + rng.integers(0, HOUR, size=count)
    return result
