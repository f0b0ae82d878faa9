"""Every query of the history reports (cohorts, survival, LTV, churn breakdowns): set-based,
one statement each, over :func:`spans.subscription_spans` (the cohort table over the
coverage stretches of ``suppliers/coverage.py`` and the periods).

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
    SQLColumnExpression,
    String,
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
from sqlalchemy.orm import aliased

from wedsync_success.db.types import UTCDateTime
from wedsync_success.kit.currency import Rates
from wedsync_success.reports.spans import covers, subscription_spans
from wedsync_success.reports.sql_months import greatest, least, month_ceiling, month_number
from wedsync_success.suppliers.models import SubscriptionPeriod, Supplier, SupplierCoverage


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


def _ages(
    lo_month: SQLColumnExpression[Any],
    end_month: SQLColumnExpression[Any],
    signup: ColumnElement[Any],
) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """The first and last ages (months after the signup month) of the month starts
    ``lo_month <= m < end_month`` (an open end: :data:`OPEN_END`)."""
    hi = case((end_month.is_(None), OPEN_END), else_=end_month - 1 - signup)
    return lo_month - signup, hi


async def cohort_counts(
    session: AsyncSession,
    *,
    key: ColumnElement[Any],
    signed_up: tuple[datetime, datetime],
    max_age: int,
    rates: Rates,
) -> list[CohortCounts]:
    """The cohort table's sums in one statement, work per stretch and period, not per age.

    Logo: each coverage stretch (``suppliers/coverage.py``; for a supplier without stored
    periods, the implicit span of its row) covers ages ``a..b`` (its month numbers less the
    signup month, clipped to ``1..max_age``). A supplier's stretches are disjoint, so it is
    counted once per age with no window over its spans. Revenue: each span (period, or the
    row's implicit one) adds its MRR over its ages ``a..b``; its MRR counts as start MRR when
    it starts at the supplier's first instant (its first stretch's start). Both are grouped
    by (cohort, currency, a, b) beside the members per cohort, a few thousand rows; NumPy
    turns them into difference arrays (+n at the first age, -n after the last) and sums
    them over ages. MRR stays in integer minor units per currency until those sums are
    converted."""
    s, c, p = Supplier, SupplierCoverage, SubscriptionPeriod
    signup = month_number(s.signed_up_at)
    members = [s.signed_up_at >= signed_up[0], s.signed_up_at < signed_up[1]]
    top: ColumnElement[int] = literal_column(str(max_age))
    one: ColumnElement[int] = literal_column("1")
    first = aliased(c, name="first_stretch")
    stored = select(c.supplier_id).where(c.supplier_id == s.id, c.seq == 1).exists()
    row_start = month_ceiling(s.subscription_started_at)
    row_end = case(
        (s.subscription_ended_at.is_(None), None), else_=month_ceiling(s.subscription_ended_at)
    )
    parts = []
    for kind, lo_month, end_month, mrr, currency, is_first, source in (
        ("logo", c.start_month, c.end_month, literal(0), literal(None, String), literal(0), c),
        ("logo", row_start, row_end, literal(0), literal(None, String), literal(0), None),
        (
            "money",
            month_ceiling(p.starts_at),
            case((p.ends_at.is_(None), None), else_=month_ceiling(p.ends_at)),
            p.mrr_minor - p.discount_minor,
            p.currency,
            case((p.starts_at == first.starts_at, 1), else_=0),
            p,
        ),
        (
            "money",
            row_start,
            row_end,
            s.mrr_minor,
            s.currency,
            case((s.subscription_started_at.is_(None), 0), else_=1),
            None,
        ),
    ):
        lo, hi = _ages(lo_month, end_month, signup)
        spans = select(
            literal(kind).label("kind"),
            key.label("key"),
            signup.label("signup_month"),
            currency.label("currency"),
            greatest(lo, one).label("a"),
            least(hi, top).label("b"),
            mrr.label("mrr"),
            is_first.label("is_first"),
        ).where(*members)
        if source is c:
            spans = spans.select_from(c).join(s, s.id == c.supplier_id)
        elif source is p:
            spans = (
                spans.select_from(p)
                .join(s, s.id == p.supplier_id)
                .join(first, and_(first.supplier_id == p.supplier_id, first.seq == 1))
            )
        else:
            spans = spans.where(~stored)
        parts.append(spans)
    spans_q = union_all(*parts).subquery("spans")
    r = spans_q.c
    groups = (r.kind, r.key, r.signup_month, r.currency, r.a, r.b)
    counted = select(
        *groups,
        func.count(),
        func.coalesce(func.sum(r.mrr), 0),
        func.coalesce(func.sum(case((r.is_first == 1, r.mrr), else_=0)), 0),
    ).group_by(*groups)
    head = select(
        literal("members"),
        key,
        signup,
        literal(None, String),
        literal(None, Integer),
        literal(None, Integer),
        func.count(),
        literal(0),
        literal(0),
    ).where(*members)
    head = head.group_by(key, signup)
    rows = await session.execute(union_all(counted, head))
    return _running_sums(rows.all(), max_age, rates)


def _running_sums(rows: Sequence[Any], max_age: int, rates: Rates) -> list[CohortCounts]:
    """Each cohort's figures from :func:`cohort_counts`' rows (``kind, key, signup month,
    currency, a, b, count, MRR, first MRR``): members, start MRR, and the difference arrays
    summed over ages (a currency without a rate counts as 0)."""
    cohorts = sorted({(str(row[1]), int(row[2])) for row in rows})
    row_of = {c: i for i, c in enumerate(cohorts)}
    codes = sorted({str(row[3]) for row in rows if row[3] is not None})
    factor = np.array([rates.factor(c) or 0.0 for c in codes] + [0.0], dtype=np.float64)
    code_of = {c: i for i, c in enumerate(codes)}
    kind = np.array([row[0] for row in rows], dtype=object)
    cohort = np.array([row_of[(str(row[1]), int(row[2]))] for row in rows], dtype=np.intp)
    currency = np.array([code_of.get(str(row[3]), len(codes)) for row in rows], dtype=np.intp)
    a, b = (
        np.array([-1 if row[i] is None else row[i] for row in rows], dtype=np.intp) for i in (4, 5)
    )
    count, mrr, first = (
        np.array([int(row[i] or 0) for row in rows], dtype=np.int64) for i in (6, 7, 8)
    )
    n = len(cohorts)
    head = kind == "members"
    members = np.bincount(cohort[head], weights=count[head], minlength=n).astype(np.int64)
    money_rows = kind == "money"
    by_currency = np.zeros((n, len(codes) + 1), dtype=np.int64)
    np.add.at(by_currency, (cohort[money_rows], currency[money_rows]), first[money_rows])
    spanned = (a >= 1) & (a <= b)
    active = np.zeros((n, max_age + 2), dtype=np.int64)
    own = spanned & (kind == "logo")
    np.add.at(active, (cohort[own], a[own]), count[own])
    np.add.at(active, (cohort[own], b[own] + 1), -count[own])
    money = np.zeros((n, len(codes) + 1, max_age + 2), dtype=np.int64)
    paid = spanned & money_rows
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
