"""Who is eligible at a cutoff, what counts as churn after it, and which cutoffs may be used.

A supplier is *eligible* at the cutoff instant ``C`` (midnight UTC after the ``as_of`` day)
when it is active at ``C`` (:mod:`wedsync_success.suppliers.subscriptions`: its subscription
started by ``C`` and ``subscription_ended_at`` is null or later than ``C``). Its *label* is
whether the subscription ended in ``(C, C + horizon]``.

Where the supplier has subscription history (``subscription_periods``), that history
decides instead (:func:`period_labels`): *active at t* means some period ``[start, end)``
covers ``t``, and churned = active at ``C`` and not active at ``C + horizon``. A supplier
who left and came back within the horizon has not churned; one whose history shows no
period at ``C`` is not a customer there and gives no row. A cutoff is usable for training or
validation only when that whole horizon lies inside the time churn is known for (``until``),
otherwise "not churned yet" would be mistaken for "stayed".
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from wedsync_success.churn.features import cutoff_seconds
from wedsync_success.suppliers.subscriptions import running_at_seconds

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DAY_SECONDS = 86_400.0


def training_cutoffs(
    first_day: date,
    *,
    last_day: date,
    until: date,
    horizon_days: int,
    min_history_days: int,
    every_days: int | None = None,
) -> list[date]:
    """The ``as_of`` days to build training and test rows at, oldest first.

    Each has ``min_history_days`` of data behind it (counted from ``first_day``), lies on or
    before ``last_day`` (the last day with activity: later cutoffs would see no events) and
    has its whole label horizon observed: the cutoff plus ``horizon_days`` ends by the end of
    ``until``, the last day churn is known. ``every_days`` None takes month ends; a number
    takes every that many days, counted back from the latest usable day.
    """
    earliest = first_day + timedelta(days=min_history_days - 1)
    latest = min(last_day, until - timedelta(days=horizon_days))
    if latest < earliest:
        return []
    if every_days is not None:
        count = (latest - earliest).days // every_days + 1
        return [latest - timedelta(days=every_days * k) for k in reversed(range(count))]
    days: list[date] = []
    month = date(earliest.year, earliest.month, 1)
    while True:
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        month_end = following - timedelta(days=1)
        if month_end > latest:
            return days
        if month_end >= earliest:
            days.append(month_end)
        month = following


def churn_labels(ended_seconds: FloatArray, as_of: date, horizon_days: int) -> BoolArray:
    """True where the subscription ended within ``(C, C + horizon]`` (NaN = never ended): a
    customer at ``C`` who is not one any more at ``C + horizon`` (the suppliers' one rule)."""
    cutoff = cutoff_seconds(as_of)
    result: BoolArray = running_at_seconds(ended_seconds, cutoff) & ~running_at_seconds(
        ended_seconds, cutoff + horizon_days * DAY_SECONDS
    )
    return result


def align(
    keys: npt.NDArray[np.str_], values: FloatArray, wanted: Sequence[uuid.UUID]
) -> FloatArray:
    """``values`` (indexed by sorted ``keys``) looked up for the ``wanted`` ids; NaN if absent."""
    want = np.asarray([str(w) for w in wanted], dtype=np.str_)
    if keys.size == 0:
        return np.full(want.size, np.nan)
    pos = np.clip(np.searchsorted(keys, want), 0, keys.size - 1)
    result: FloatArray = np.where(keys[pos] == want, values[pos], np.nan)
    return result


def period_labels(
    history_keys: npt.NDArray[np.str_],
    starts: FloatArray,
    ends: FloatArray,
    supplier_ids: Sequence[uuid.UUID],
    as_of: date,
    horizon_days: int,
) -> tuple[BoolArray, BoolArray, BoolArray]:
    """(has history, active at ``C``, active at ``C + horizon``) of each wanted supplier, from
    its billed periods (NaN end = open): one pass over all periods, no loop per supplier."""
    want = np.asarray([str(w) for w in supplier_ids], dtype=np.str_)
    n = want.size
    if n == 0:
        none = np.zeros(0, dtype=np.bool_)
        return none, none, none
    order = np.argsort(want)
    pos = np.clip(np.searchsorted(want, history_keys, sorter=order), 0, n - 1)
    found = want[order[pos]] == history_keys
    row = order[pos][found]
    start, end = starts[found], ends[found]
    cutoff = cutoff_seconds(as_of)
    later = cutoff + horizon_days * DAY_SECONDS

    def covering(moment: float) -> BoolArray:
        covers = (start <= moment) & running_at_seconds(end, moment)
        result: BoolArray = np.bincount(row[covers], minlength=n) > 0
        return result

    has: BoolArray = np.bincount(row, minlength=n) > 0
    return has, covering(cutoff), covering(later)
