"""Success attribution: which success events and interventions preceded each conversion
(upgrade, renewal, referral converted), and how each conversion's one unit of credit is
shared among them under first-touch, last-touch and linear models.

The candidates are one SQL query (``attribution_repository.py``); the split is NumPy over
its rows, grouped by conversion where the (kind, key) changes: no Python loop per
conversion. ``docs/business-reports.md`` describes the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity.roles import Role, current_roles
from wedsync_success.kit.currency import Rates
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.reports import attribution_repository as repository
from wedsync_success.reports.attribution_schemas import (
    AttributionReport,
    ConversionCount,
    ConversionKind,
    CreditModel,
    TouchCredit,
)
from wedsync_success.reports.history_requests import request_window
from wedsync_success.reports.months import stated

MAX_WINDOW_DAYS = 365
DEFAULT_DAYS = 90
"""The report's default window: the 90 days through today."""
KINDS = tuple(sorted(ConversionKind))
"""In name order, so a kind's index is found with ``searchsorted``."""

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Split:
    """The credit of every candidate row under each model (0 where a row earns none)."""

    first_row: npt.NDArray[np.bool_]
    """The first row of its conversion (one per conversion)."""
    touched: npt.NDArray[np.bool_]
    credit: dict[CreditModel, Floats]


def split_credit(kinds: Sequence[str], keys: Sequence[str], touch_types: Sequence[str]) -> Split:
    """Each conversion's credit of 1 shared among its rows (already in touch order): all to
    its first touch, all to its last, or 1/n to each of its n touches."""
    kind, key = np.asarray(kinds, dtype=str), np.asarray(keys, dtype=str)
    touched = np.asarray(touch_types, dtype=str) != ""
    first = np.ones(len(kind), dtype=bool)
    first[1:] = (kind[1:] != kind[:-1]) | (key[1:] != key[:-1])
    last = np.ones(len(kind), dtype=bool)
    last[:-1] = first[1:]
    group = np.cumsum(first) - 1
    per_group = np.bincount(group, weights=touched)[group]
    share = np.divide(touched, per_group, out=np.zeros(len(kind)), where=per_group > 0)
    return Split(
        first_row=first,
        touched=touched,
        credit={
            CreditModel.FIRST_TOUCH: (first & touched).astype(np.float64),
            CreditModel.LAST_TOUCH: (last & touched).astype(np.float64),
            CreditModel.LINEAR: share,
        },
    )


def check_request(
    *, given_from: date | None, given_to: date | None, window_days: int, today: date
) -> tuple[date, date]:
    """The window ``[from, to)`` with its defaults (the :data:`DEFAULT_DAYS` days through
    ``today``); a bad value is refused naming ``from``, ``to`` or ``window_days``."""
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        reason = f"must be between 1 and {MAX_WINDOW_DAYS}"
        raise ValidationFailed(
            f"window_days {reason}", details=[{"field": "window_days", "reason": reason}]
        )
    after = today + timedelta(days=1)
    first, last = request_window(given_from, given_to, after - timedelta(days=DEFAULT_DAYS), after)
    if last == first:
        field = "to" if given_to is not None or given_from is None else "from"
        reason = "must be after from" if field == "to" else f"must be before to ({last})"
        raise ValidationFailed(f"{field} {reason}", details=[{"field": field, "reason": reason}])
    return first, last


async def attribution_report(
    *,
    session: AsyncSession,
    start: date,
    end: date,
    window_days: int,
    models: Sequence[CreditModel],
    rates: Rates,
    referral_types: Sequence[str] | None = None,
) -> AttributionReport:
    """Conversions in ``[start, end)`` and the credit each touch type earned for them."""
    found = await repository.candidates(
        session,
        start=start,
        end=end,
        window_days=window_days,
        rates=rates,
        referral_types=(
            current_roles().types(Role.REFERRAL_CONVERSION)
            if referral_types is None
            else referral_types
        ),
    )
    split = split_credit(found.kinds, found.keys, found.touch_types)
    kind_index = np.searchsorted(np.asarray(KINDS, dtype=str), np.asarray(found.kinds, dtype=str))
    values = np.asarray(found.values, dtype=np.float64)
    types, type_index = np.unique(np.asarray(found.touch_types, dtype=str), return_inverse=True)
    cells = len(KINDS) * len(types)
    cell = kind_index * len(types) + type_index
    per_cell_touches = np.bincount(cell, weights=split.touched, minlength=cells)
    group = np.cumsum(split.first_row) - 1
    pairs = np.unique((group * len(types) + type_index)[split.touched])
    pair_kind = kind_index[split.first_row][pairs // max(len(types), 1)]
    per_cell_conversions = np.bincount(
        pair_kind * len(types) + pairs % max(len(types), 1), minlength=cells
    )
    credit = {m: np.bincount(cell, weights=split.credit[m], minlength=cells) for m in models}
    value = {
        m: np.bincount(cell, weights=split.credit[m] * values, minlength=cells) for m in models
    }
    rows = [
        TouchCredit(
            kind=KINDS[c // len(types)],
            touch_type=str(types[c % len(types)]),
            touches=int(per_cell_touches[c]),
            conversions=int(per_cell_conversions[c]),
            credit={m: round(float(credit[m][c]), 6) for m in models},
            value_minor={m: round(float(value[m][c])) for m in models},
        )
        for c in np.flatnonzero(per_cell_touches)
    ]
    rows.sort(key=lambda r: (-max(r.credit.values(), default=0.0), r.kind, r.touch_type))
    return AttributionReport(
        from_=start,
        to=end,
        window_days=window_days,
        models=list(models),
        rates=stated(rates),
        conversions=_counts(kind_index[split.first_row], split, values),
        credit=rows,
    )


def _counts(kinds: npt.NDArray[np.intp], split: Split, values: Floats) -> list[ConversionCount]:
    """Conversions of each kind, how many had a touch, and what they brought."""
    total = np.bincount(kinds, minlength=len(KINDS))
    attributed = np.bincount(kinds, weights=split.touched[split.first_row], minlength=len(KINDS))
    worth = np.bincount(kinds, weights=values[split.first_row], minlength=len(KINDS))
    return [
        ConversionCount(
            kind=kind,
            conversions=int(total[k]),
            attributed=int(attributed[k]),
            unattributed=int(total[k] - attributed[k]),
            value_minor=round(float(worth[k])),
        )
        for k, kind in enumerate(KINDS)
    ]
