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

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    func,
    literal,
    literal_column,
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


def _greatest(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    """``max(a, b)``, NULL when either is (SQLite has no GREATEST; PostgreSQL's skips NULLs)."""
    return case((a >= b, a), (a < b, b))


def _least(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((a <= b, a), (a > b, b))


def _member_spans(key: ColumnElement[Any], signed_up: tuple[datetime, datetime]) -> Any:
    """The members' spans, with the ages (months after the signup month) of the first and
    last month starts each covers (``lo``, ``hi``). Materialised: the month numbers are
    computed once per span, not once per use (both backends would otherwise repeat them)."""
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
            spans.c.mrr_minor.label("mrr_minor"),
            spans.c.currency.label("currency"),
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
    """The cohort table's sums in one statement: one window pass over the members' spans
    and one grouping, so the work is per span, not per span and age.

    Each span covers ages ``a..b`` (``lo..hi`` clipped to ``1..max_age``). Its supplier is
    counted active only over ``o..b``, the ages none of the supplier's earlier spans (by
    start) covers: those all start no later, so together they cover every age from ``lo`` up
    to ``covered_to``, the largest ``hi`` among them, and ``o = max(a, covered_to + 1)``. So
    a supplier is counted once per age however many of its spans cover it. The spans are
    grouped by (cohort, currency, a, b, o), a few thousand rows; NumPy turns them into
    difference arrays (+n at the first age, -n after the last) and sums them over ages. MRR
    stays in integer minor units per currency until those sums are converted."""
    m = _member_spans(key, signed_up).c
    one: ColumnElement[int] = literal_column("1")
    top: ColumnElement[int] = literal_column(str(max_age))
    by_start = {"partition_by": m.supplier_id, "order_by": m.starts_at}
    covered_to = func.max(m.hi).over(**by_start, rows=(None, -1))
    a, b = _greatest(m.lo, one), _least(m.hi, top)
    first_at = func.first_value(m.starts_at).over(**by_start)
    ranged = select(
        m.key,
        m.signup_month,
        m.currency,
        m.mrr_minor,
        a.label("a"),
        b.label("b"),
        _greatest(a, func.coalesce(covered_to + one, m.lo)).label("o"),
        case((func.row_number().over(**by_start) == 1, 1), else_=0).label("lead"),
        case((m.starts_at == first_at, m.mrr_minor), else_=0).label("first_mrr"),
    ).subquery("ranged")
    r = ranged.c
    groups = (r.key, r.signup_month, r.currency, r.a, r.b, r.o)
    rows = await session.execute(
        select(
            *groups,
            func.sum(r.lead),
            func.coalesce(func.sum(r.first_mrr), 0),
            func.count(),
            func.coalesce(func.sum(r.mrr_minor), 0),
        ).group_by(*groups)
    )
    return _running_sums(rows.all(), max_age, rates)


def _running_sums(rows: Sequence[Any], max_age: int, rates: Rates) -> list[CohortCounts]:
    """Each cohort's figures from :func:`cohort_counts`' groups: members, start MRR, and the
    difference arrays summed over ages (a currency without a rate counts as 0)."""
    cohorts = sorted({(str(row[0]), int(row[1])) for row in rows})
    row_of = {c: i for i, c in enumerate(cohorts)}
    codes = sorted({str(row[2]) for row in rows if row[2] is not None})
    factor = np.array([rates.factor(c) or 0.0 for c in codes] + [0.0], dtype=np.float64)
    code_of = {c: i for i, c in enumerate(codes)}
    cohort = np.array([row_of[(str(row[0]), int(row[1]))] for row in rows], dtype=np.intp)
    currency = np.array([code_of.get(str(row[2]), len(codes)) for row in rows], dtype=np.intp)
    # A span without a start (a supplier row without a subscription) covers no age.
    a, b, o = (
        np.array([-1 if row[i] is None else row[i] for row in rows], dtype=np.intp)
        for i in (3, 4, 5)
    )
    valid = a >= 1
    lead, first, spans, mrr = (
        np.array([int(row[i] or 0) for row in rows], dtype=np.int64) for i in range(6, 10)
    )
    n = len(cohorts)
    members = np.bincount(cohort, weights=lead, minlength=n).astype(np.int64)
    by_currency = np.zeros((n, len(codes) + 1), dtype=np.int64)
    np.add.at(by_currency, (cohort, currency), first)
    active = np.zeros((n, max_age + 2), dtype=np.int64)
    own = valid & (o <= b)
    np.add.at(active, (cohort[own], o[own]), spans[own])
    np.add.at(active, (cohort[own], b[own] + 1), -spans[own])
    money = np.zeros((n, len(codes) + 1, max_age + 2), dtype=np.int64)
    paid = valid & (a <= b)
    np.add.at(money, (cohort[paid], currency[paid], a[paid]), mrr[paid])
    np.add.at(money, (cohort[paid], currency[paid], b[paid] + 1), -mrr[paid])
    active = np.cumsum(active, axis=1)
    converted = (np.cumsum(money, axis=2) * factor[None, :, None]).sum(axis=1)
    start = (by_currency * factor[None, :]).sum(axis=1)
    return [
        CohortCounts(
            key=k,
            signup_month=month,
            members=int(members[i]),
            start_mrr=float(start[i]),
            active=active[i, 1 : max_age + 1].tolist(),
            mrr=converted[i, 1 : max_age + 1].tolist(),
        )
        for i, (k, month) in enumerate(cohorts)
    ]


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
