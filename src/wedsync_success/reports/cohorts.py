"""Cohort retention: suppliers grouped by signup month (or a segment), logo and revenue
retention per month of age.

A supplier's *age k* is observed at the first instant of the k-th calendar month after its
signup month (age 0 is the signup itself: every member counts). It is *retained* at age k
when a subscription span covers that instant (``reports/spans.py``: its billed periods, or
the supplier row's subscription when it has none). Revenue retention at age k is the
members' MRR at that instant over their MRR at their first subscription start, expansion
included (so it may pass 100 %). An age is reported only for members whose instant lies on
or before the end of ``as_of``, and its denominators count only those members, so a young
cohort never drags an old age's figure down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.kit.clock import start_of_day
from wedsync_success.kit.currency import Rates
from wedsync_success.reports import repository
from wedsync_success.reports.history_schemas import (
    CohortBy,
    CohortCell,
    CohortMetric,
    CohortRow,
    CohortTable,
)
from wedsync_success.reports.months import check_range, month_index, month_of, stated
from wedsync_success.reports.segments import Segment, segment_key

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
MAX_AGE = 120
_SEGMENT_OF: dict[CohortBy, Segment] = {
    CohortBy.SIGNUP_MONTH: Segment.ALL,
    CohortBy.VENDOR_TYPE: Segment.VENDOR_TYPE,
    CohortBy.PLAN: Segment.PLAN,
    CohortBy.ACQUISITION_CHANNEL: Segment.ACQUISITION_CHANNEL,
}
DEFINITION = (
    "Members: suppliers signed up in the range, grouped by {by}. Age k: the first instant of "
    "the k-th month after the signup month (age 0: signup). Logo retention: members with a "
    "subscription covering that instant / members whose age k is observed by the end of "
    "as_of. Revenue retention: their MRR then / their MRR at their first subscription start "
    "(net, expansion included), in the reporting currency. Suppliers without billed periods "
    "count through their supplier row's subscription."
)


async def cohort_retention(
    session: AsyncSession,
    *,
    signed_up_from: date,
    signed_up_to: date,
    as_of: date,
    rates: Rates,
    by: CohortBy = CohortBy.SIGNUP_MONTH,
    metric: CohortMetric = CohortMetric.LOGO,
    max_age: int = 24,
) -> CohortTable:
    """The cohort table of suppliers signed up from ``signed_up_from`` to ``signed_up_to``
    (days, both included), observed up to the end of ``as_of``."""
    check_range(signed_up_from, signed_up_to, start_field="from", end_field="to")
    spans = await repository.cohort_spans(
        session,
        key=segment_key(_SEGMENT_OF[by]),
        signed_up=(start_of_day(signed_up_from), start_of_day(signed_up_to + timedelta(days=1))),
        rates=rates,
    )
    first = month_index(signed_up_from)
    grid = _Grid.of(spans, first=first, observed=month_index(as_of + timedelta(days=1)) - first)
    members, start_mrr, active, mrr = grid.tally(spans, max_age=max_age)
    if by is CohortBy.SIGNUP_MONTH:
        names = [month_of(first + c).strftime("%Y-%m") for c in range(grid.months)]
        row_of = grid.group_month
    else:
        names, row_of = grid.keys, grid.group_key
    rows = np.zeros((len(names), 4, max_age + 1), dtype=np.float64)
    seen = grid.observed_ages(max_age)  # (group, age): that age's instant is observed
    for i, values in enumerate((members[:, None], start_mrr[:, None], active, mrr)):
        np.add.at(rows[:, i, :], row_of, np.where(seen, values, 0.0))
    size = np.bincount(row_of, weights=members, minlength=len(names))
    base = np.bincount(row_of, weights=start_mrr, minlength=len(names))
    return CohortTable(
        by=by,
        metric=metric,
        signed_up_from=signed_up_from,
        signed_up_to=signed_up_to,
        as_of=as_of,
        max_age=max_age,
        reporting=stated(rates),
        definition=DEFINITION.format(by=by.value),
        rows=[
            CohortRow(
                key=name,
                size=int(size[r]),
                start_mrr_minor=round(float(base[r])),
                cells=_cells(rows[r], metric),
            )
            for r, name in enumerate(names)
            if size[r] > 0
        ],
    )


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole > 0 else None


def _cells(row: FloatArray, metric: CohortMetric) -> list[CohortCell]:
    """A row's cells from its (members, start MRR, active, MRR) x age sums, while observed."""
    cells = []
    for age in range(row.shape[1]):
        n, base, kept, mrr = row[:, age]
        if n == 0:
            break
        logo, revenue = _ratio(kept, n), _ratio(mrr, base)
        cells.append(
            CohortCell(
                age=age,
                members=int(n),
                active=int(kept),
                logo_retention=logo,
                mrr_minor=round(float(mrr)),
                start_mrr_minor=round(float(base)),
                revenue_retention=revenue,
                value=logo if metric is CohortMetric.LOGO else revenue,
            )
        )
    return cells


@dataclass(frozen=True)
class _Grid:
    """Groups (segment x signup month) of the members' spans, months counted from ``first``."""

    keys: list[str]
    months: int
    observed: int
    """Number (from ``first``) of the last month start observed by the end of as_of."""
    group: IntArray
    """Per span: its group, ``key * months + signup month``."""
    signup: IntArray
    """Per span: its supplier's signup month, from ``first``."""

    @classmethod
    def of(cls, spans: repository.CohortSpans, *, first: int, observed: int) -> _Grid:
        keys, key_code = np.unique(np.array(spans.key, dtype=np.str_), return_inverse=True)
        signup = spans.signup_month - first
        months = int(signup.max()) + 1 if signup.size else 0
        return cls(
            keys=[str(k) for k in keys],
            months=months,
            observed=observed,
            group=key_code.astype(np.int64) * months + signup,
            signup=signup,
        )

    @property
    def size(self) -> int:
        return len(self.keys) * self.months

    @property
    def group_month(self) -> IntArray:
        return np.arange(self.size, dtype=np.int64) % max(self.months, 1)

    @property
    def group_key(self) -> IntArray:
        return np.arange(self.size, dtype=np.int64) // max(self.months, 1)

    def observed_ages(self, max_age: int) -> BoolArray:
        ages = np.arange(max_age + 1)[None, :]
        seen: BoolArray = (self.group_month[:, None] + ages <= self.observed) | (ages == 0)
        return seen

    def tally(
        self, spans: repository.CohortSpans, *, max_age: int
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Per group: members, their MRR at first start; per group and age: members active,
        their MRR. Each span adds its MRR to the ages whose instants it covers (a difference
        array); for the logo count a supplier's overlapping spans are merged first, so it
        counts once."""
        g, width = self.group, max_age + 2
        new_supplier = np.r_[True, spans.supplier[1:] != spans.supplier[:-1]]
        members = np.bincount(g[new_supplier], minlength=self.size).astype(np.float64)
        start_mrr = np.bincount(g, weights=spans.mrr * spans.first_span, minlength=self.size)
        # The ages whose instants each span covers (age k: month start signup + k).
        lo = np.maximum(spans.first_covered - spans.signup_month, 1)
        hi = np.minimum(
            np.minimum(spans.last_covered - spans.signup_month, max_age),
            self.observed - self.signup,
        )
        ok = lo <= hi
        mrr = np.zeros((self.size, width))
        np.add.at(mrr, (g[ok], lo[ok]), spans.mrr[ok])
        np.add.at(mrr, (g[ok], hi[ok] + 1), -spans.mrr[ok])
        # Merge each supplier's covered age ranges: rows come by supplier, then start.
        sup, lo, hi, g = spans.supplier[ok], lo[ok], hi[ok], g[ok]
        stride = max_age + 2
        reach = np.maximum.accumulate(sup * stride + hi)
        starts = np.flatnonzero(sup * stride + lo > np.r_[-1, reach[:-1]])
        island_hi = np.maximum.reduceat(hi, starts) if starts.size else starts
        logo = np.zeros((self.size, width))
        np.add.at(logo, (g[starts], lo[starts]), 1.0)
        np.add.at(logo, (g[starts], island_hi + 1), -1.0)
        active = np.cumsum(logo, axis=1)[:, : max_age + 1]
        at_age = np.cumsum(mrr, axis=1)[:, : max_age + 1]
        active[:, 0], at_age[:, 0] = members, start_mrr
        return members, start_mrr, active, at_age
