"""Every query of the history reports (cohorts, survival, LTV, churn breakdowns): set-based,
one statement each, over :func:`spans.subscription_spans`.

The cohort table counts months as integers (``sql_months``: no join on a table of months);
the churn windows are passed in as a small table of their bounds (``_months``), each window
one row, so a supplier's churn in every window is one statement on either backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db.types import UTCDateTime
from wedsync_success.kit.currency import Rates
from wedsync_success.reports.spans import covers, subscription_spans
from wedsync_success.reports.sql_months import month_ceiling, month_number
from wedsync_success.suppliers.models import Supplier


def _months(starts: Sequence[datetime]) -> Any:
    """``(idx, at, until)``: month ``idx`` is ``[at, until)``; the last start only bounds.
    A UNION of one-row SELECTs: SQLite takes no column names on a ``VALUES`` alias."""
    rows = [
        select(
            literal(i, Integer).label("idx"),
            literal(a, UTCDateTime()).label("at"),
            literal(b, UTCDateTime()).label("until"),
        )
        for i, (a, b) in enumerate(pairwise(starts))
    ]
    return union_all(*rows).subquery("months")


OPEN_END = 10**6
"""The month number standing for "no end yet" (far beyond any real month)."""


@dataclass(frozen=True)
class CohortCounts:
    """Per (segment, signup month number): members, their MRR at their first subscription
    start, and per age 1..max_age the members active then and their MRR."""

    key: str
    signup_month: int
    members: int
    start_mrr: float
    active: list[int]
    mrr: list[float]


def _member_spans(
    key: ColumnElement[Any], signed_up: tuple[datetime, datetime], rates: Rates
) -> Any:
    """The members' spans, with the ages (months after the signup month) of the first and
    last month starts each covers; materialised, so the month numbers are computed once."""
    spans, s = subscription_spans(), Supplier
    signup = month_number(s.signed_up_at)
    return (
        select(
            spans.c.supplier_id.label("supplier_id"),
            key.label("key"),
            signup.label("signup_month"),
            spans.c.starts_at.label("starts_at"),
            (month_ceiling(spans.c.starts_at) - signup).label("lo"),
            case(
                (spans.c.ends_at.is_(None), OPEN_END),
                else_=month_ceiling(spans.c.ends_at) - 1 - signup,
            ).label("hi"),
            func.coalesce(spans.c.mrr_minor * rates.sql_factor(spans.c.currency), 0.0).label("mrr"),
        )
        .select_from(spans)
        .join(s, s.id == spans.c.supplier_id)
        .where(s.signed_up_at >= signed_up[0], s.signed_up_at < signed_up[1])
        .cte("member_spans")
        .prefix_with("MATERIALIZED")
    )


async def cohort_counts(
    session: AsyncSession,
    *,
    key: ColumnElement[Any],
    signed_up: tuple[datetime, datetime],
    max_age: int,
    rates: Rates,
) -> list[CohortCounts]:
    """The cohort table's sums in one aggregate statement, no join on months: a supplier is
    active at age k when one of its spans covers that age's month start (``lo <= k <= hi``),
    counted once however many of its spans do."""
    m = _member_spans(key, signed_up, rates)
    ages = range(1, max_age + 1)
    covered = {k: and_(m.c.lo <= k, m.c.hi >= k) for k in ages}
    first = (
        select(m.c.supplier_id, func.min(m.c.starts_at).label("first_at"))
        .group_by(m.c.supplier_id)
        .subquery("first")
    )
    start_mrr = (
        select(m.c.supplier_id, func.sum(m.c.mrr).label("mrr"))
        .join(
            first, and_(first.c.supplier_id == m.c.supplier_id, first.c.first_at == m.c.starts_at)
        )
        .group_by(m.c.supplier_id)
        .subquery("start_mrr")
    )
    per_supplier = (
        select(
            m.c.supplier_id,
            m.c.key,
            m.c.signup_month,
            *[func.max(case((c, 1), else_=0)).label(f"a{k}") for k, c in covered.items()],
            *[func.sum(case((c, m.c.mrr), else_=0.0)).label(f"m{k}") for k, c in covered.items()],
        )
        .group_by(m.c.supplier_id, m.c.key, m.c.signup_month)
        .subquery("per_supplier")
    )
    p = per_supplier.c
    # One statement, so the materialised spans are computed once for all three readers.
    counted = await session.execute(
        select(
            p.key,
            p.signup_month,
            func.count(),
            func.coalesce(func.sum(start_mrr.c.mrr), 0.0),
            *[func.sum(p[f"a{k}"]) for k in ages],
            *[func.sum(p[f"m{k}"]) for k in ages],
        )
        .select_from(per_supplier)
        .outerjoin(start_mrr, start_mrr.c.supplier_id == p.supplier_id)
        .group_by(p.key, p.signup_month)
    )
    out = []
    for key_, month, n, base, *sums in counted:
        out.append(
            CohortCounts(
                key=str(key_),
                signup_month=int(month),
                members=int(n),
                start_mrr=float(base),
                active=[int(v or 0) for v in sums[:max_age]],
                mrr=[float(v or 0) for v in sums[max_age:]],
            )
        )
    return out


@dataclass(frozen=True)
class Lifetime:
    supplier_id: str
    key: str
    first_start: datetime
    last_end: datetime | None
    """The end of the supplier's last span; None while a span is open at the as-of instant."""
    mrr: float
    """MRR at the as-of instant, reporting minor units (0 once churned)."""


async def lifetimes(
    session: AsyncSession,
    *,
    key: ColumnElement[Any],
    signed_up_from: datetime,
    signed_up_until: datetime,
    as_of: datetime,
    rates: Rates,
) -> list[Lifetime]:
    """Each supplier signed up in ``[signed_up_from, signed_up_until)`` whose subscription had
    started by ``as_of``: from its first span's start to the end of its last span (churned)
    or still running at ``as_of`` (censored). Spans starting after ``as_of`` are unseen."""
    spans, s = subscription_spans(), Supplier
    running = or_(spans.c.ends_at.is_(None), spans.c.ends_at > as_of)
    rows = await session.execute(
        select(
            s.id,
            key.label("key"),
            func.min(spans.c.starts_at),
            func.max(spans.c.ends_at),
            func.sum(case((running, 1), else_=0)),
            func.coalesce(
                func.sum(
                    case(
                        (
                            covers(spans, as_of),
                            spans.c.mrr_minor * rates.sql_factor(spans.c.currency),
                        ),
                        else_=0.0,
                    )
                ),
                0.0,
            ),
        )
        .select_from(s)
        .join(spans, spans.c.supplier_id == s.id)
        .where(
            s.signed_up_at >= signed_up_from,
            s.signed_up_at < signed_up_until,
            spans.c.starts_at <= as_of,
        )
        .group_by(s.id, key)
    )
    return [
        Lifetime(str(sid), str(k), first, None if int(open_ or 0) else last, float(mrr))
        for sid, k, first, last, open_, mrr in rows
    ]


@dataclass(frozen=True)
class WindowChurn:
    window_idx: int
    key: str
    active_at_start: int
    churned: int
    mrr_at_start: float
    """Reporting minor units of the MRR of the suppliers active at the window's start."""
    churned_mrr: float
    """The part of ``mrr_at_start`` the churned suppliers brought."""


async def window_churn(
    session: AsyncSession,
    *,
    key: ColumnElement[Any],
    bounds: Sequence[datetime],
    rates: Rates,
) -> list[WindowChurn]:
    """Logo churn per window ``[bounds[i], bounds[i+1])`` and segment, as the design notes
    define it: suppliers active at the window's start and not at its end."""
    spans, s, w = subscription_spans(), Supplier, _months(bounds)
    at_start, at_end = covers(spans, w.c.at), covers(spans, w.c.until)
    # Every span that covers either end of the window, so a renewal that starts inside it
    # keeps the supplier from counting as churned.
    touching = and_(
        spans.c.starts_at <= w.c.until, or_(spans.c.ends_at.is_(None), spans.c.ends_at > w.c.at)
    )
    per_supplier = (
        select(
            w.c.idx.label("idx"),
            spans.c.supplier_id.label("supplier_id"),
            func.max(case((at_end, 1), else_=0)).label("at_end"),
            func.sum(
                case((at_start, spans.c.mrr_minor * rates.sql_factor(spans.c.currency)), else_=0.0)
            ).label("mrr"),
        )
        .select_from(spans)
        .join(w, touching)
        .group_by(w.c.idx, spans.c.supplier_id)
        .having(func.max(case((at_start, 1), else_=0)) == 1)
        .subquery("starting")
    )
    a = per_supplier.c
    rows = await session.execute(
        select(
            a.idx,
            key.label("key"),
            func.count(),
            func.sum(1 - a.at_end),
            func.coalesce(func.sum(a.mrr), 0.0),
            func.coalesce(func.sum(case((a.at_end == 0, a.mrr), else_=0.0)), 0.0),
        )
        .select_from(per_supplier)
        .join(s, s.id == a.supplier_id)
        .group_by(a.idx, key)
    )
    return [
        WindowChurn(int(i), str(k), int(n), int(c or 0), float(v), float(lost))
        for i, k, n, c, v, lost in rows
    ]
