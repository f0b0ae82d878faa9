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

from collections import defaultdict
from datetime import date, timedelta

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
from wedsync_success.reports.months import check_range, month_of, month_starts, stated
from wedsync_success.reports.segments import Segment, segment_key

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
    observed_until = start_of_day(as_of + timedelta(days=1))
    last = max(signed_up_to, as_of)
    starts = month_starts(signed_up_from, month_of(last.year * 12 + last.month))
    signed_up = (start_of_day(signed_up_from), start_of_day(signed_up_to + timedelta(days=1)))
    key = segment_key(_SEGMENT_OF[by])
    groups = await repository.cohort_groups(
        session, key=key, month_starts=starts, signed_up=signed_up, rates=rates
    )
    active = await repository.cohort_active(
        session,
        key=key,
        month_starts=starts,
        signed_up=signed_up,
        max_age=max_age,
        observed_until=observed_until,
        rates=rates,
    )
    first_month = signed_up_from.year * 12 + signed_up_from.month - 1

    def row_key(key: str, month_idx: int) -> str:
        if by is CohortBy.SIGNUP_MONTH:
            return month_of(first_month + month_idx).strftime("%Y-%m")
        return key

    members: dict[str, dict[int, tuple[int, float]]] = defaultdict(dict)
    for g in groups:
        members[row_key(g.key, g.month_idx)][g.month_idx] = (g.members, g.start_mrr)
    seen: dict[tuple[str, int, int], tuple[int, float]] = {}
    for a in active:
        k = (row_key(a.key, a.month_idx), a.month_idx, a.age)
        n, mrr = seen.get(k, (0, 0.0))
        seen[k] = (n + a.active, mrr + a.mrr)

    def observed(month_idx: int, age: int) -> bool:
        return age == 0 or (
            month_idx + age < len(starts) and starts[month_idx + age] <= observed_until
        )

    rows = []
    for name in sorted(members):
        by_month = members[name]
        cells = []
        for age in range(max_age + 1):
            months = [i for i in by_month if observed(i, age)]
            if not months:
                break
            n = sum(by_month[i][0] for i in months)
            base = sum(by_month[i][1] for i in months)
            if age == 0:
                kept, mrr = n, base
            else:
                kept = sum(seen.get((name, i, age), (0, 0.0))[0] for i in months)
                mrr = sum(seen.get((name, i, age), (0, 0.0))[1] for i in months)
            logo = kept / n if n else None
            revenue = mrr / base if base > 0 else None
            cells.append(
                CohortCell(
                    age=age,
                    members=n,
                    active=kept,
                    logo_retention=None if logo is None else round(logo, 4),
                    mrr_minor=round(mrr),
                    start_mrr_minor=round(base),
                    revenue_retention=None if revenue is None else round(revenue, 4),
                    value=None
                    if (v := logo if metric is CohortMetric.LOGO else revenue) is None
                    else round(v, 4),
                )
            )
        rows.append(
            CohortRow(
                key=name,
                size=sum(m for m, _ in by_month.values()),
                start_mrr_minor=round(sum(b for _, b in by_month.values())),
                cells=cells,
            )
        )
    return CohortTable(
        by=by,
        metric=metric,
        signed_up_from=signed_up_from,
        signed_up_to=signed_up_to,
        as_of=as_of,
        max_age=max_age,
        reporting=stated(rates),
        definition=DEFINITION.format(by=by.value),
        rows=rows,
    )
