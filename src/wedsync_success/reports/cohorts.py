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

FloatArray = npt.NDArray[np.float64]
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
    counts = await repository.cohort_counts(
        session,
        key=segment_key(_SEGMENT_OF[by]),
        signed_up=(start_of_day(signed_up_from), start_of_day(signed_up_to + timedelta(days=1))),
        max_age=max_age,
        rates=rates,
    )
    observed = month_index(as_of + timedelta(days=1))  # the last month start observed
    if by is CohortBy.SIGNUP_MONTH:
        names = sorted({month_of(c.signup_month).strftime("%Y-%m") for c in counts})
    else:
        names = sorted({c.key for c in counts})
    row_of = {name: r for r, name in enumerate(names)}
    # (row, measure, age) sums over the row's signup months whose age is observed; measures
    # are members, their start MRR, members active, their MRR.
    sums = np.zeros((len(names), 4, max_age + 1), dtype=np.float64)
    for c in counts:
        name = month_of(c.signup_month).strftime("%Y-%m") if by is CohortBy.SIGNUP_MONTH else c.key
        ages = min(max_age, max(observed - c.signup_month, 0)) + 1
        row = sums[row_of[name]]
        row[0, :ages] += c.members
        row[1, :ages] += c.start_mrr
        row[2, 0] += c.members
        row[3, 0] += c.start_mrr
        row[2, 1:ages] += c.active[: ages - 1]
        row[3, 1:ages] += c.mrr[: ages - 1]
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
                size=int(sums[r, 0, 0]),
                start_mrr_minor=round(float(sums[r, 1, 0])),
                cells=_cells(sums[r], metric),
            )
            for r, name in enumerate(names)
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
