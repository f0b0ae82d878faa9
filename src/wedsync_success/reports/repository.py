"""Every query of the history reports (cohorts, survival, LTV, churn breakdowns): set-based,
one statement each, over :func:`spans.subscription_spans`.

Months are passed in as a small ``VALUES`` table of their first instants, so month arithmetic
is a join on an index (``idx``) and reads the same on SQLite and PostgreSQL.
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


@dataclass(frozen=True)
class CohortGroup:
    key: str
    month_idx: int
    """The signup month, as an index into the month starts."""
    members: int
    start_mrr: float
    """Reporting-currency minor units of MRR at each member's first subscription start."""


@dataclass(frozen=True)
class CohortActive:
    key: str
    month_idx: int
    age: int
    active: int
    mrr: float


async def cohort_groups(
    session: AsyncSession,
    *,
    key: ColumnElement[Any],
    month_starts: Sequence[datetime],
    signed_up: tuple[datetime, datetime],
    rates: Rates,
) -> list[CohortGroup]:
    """Suppliers signed up in each month of ``month_starts`` (but the last, which bounds), by
    segment and signup month, with the MRR each brought at its first subscription start."""
    spans, s, m = subscription_spans(), Supplier, _months(month_starts)
    first = (
        select(spans.c.supplier_id, func.min(spans.c.starts_at).label("first_at"))
        .group_by(spans.c.supplier_id)
        .subquery("first")
    )
    start_mrr = (
        select(
            spans.c.supplier_id,
            func.sum(spans.c.mrr_minor * rates.sql_factor(spans.c.currency)).label("mrr"),
        )
        .join(first, and_(first.c.supplier_id == spans.c.supplier_id))
        .where(spans.c.starts_at == first.c.first_at)
        .group_by(spans.c.supplier_id)
        .subquery("start_mrr")
    )
    rows = await session.execute(
        select(
            key.label("key"),
            m.c.idx,
            func.count(s.id),
            func.coalesce(func.sum(start_mrr.c.mrr), 0.0),
        )
        .select_from(s)
        .join(m, and_(s.signed_up_at >= m.c.at, s.signed_up_at < m.c.until))
        .outerjoin(start_mrr, start_mrr.c.supplier_id == s.id)
        .where(s.signed_up_at >= signed_up[0], s.signed_up_at < signed_up[1])
        .group_by(key, m.c.idx)
    )
    return [CohortGroup(str(k), int(i), int(n), float(mrr)) for k, i, n, mrr in rows]


async def cohort_active(
    session: AsyncSession,
    *,
    key: ColumnElement[Any],
    month_starts: Sequence[datetime],
    signed_up: tuple[datetime, datetime],
    max_age: int,
    observed_until: datetime,
    rates: Rates,
) -> list[CohortActive]:
    """For each (segment, signup month, age k >= 1): members active at the first instant of
    the k-th month after their signup month, and their MRR then (reporting minor units).
    Only instants up to ``observed_until`` are looked at."""
    spans, s = subscription_spans(), Supplier
    signup, at = _months(month_starts), _months(month_starts).alias("at_month")
    age = at.c.idx - signup.c.idx
    per_supplier = (
        select(
            key.label("key"),
            signup.c.idx.label("month_idx"),
            age.label("age"),
            s.id.label("supplier_id"),
            func.sum(spans.c.mrr_minor * rates.sql_factor(spans.c.currency)).label("mrr"),
        )
        .select_from(s)
        .join(signup, and_(s.signed_up_at >= signup.c.at, s.signed_up_at < signup.c.until))
        .join(
            at,
            and_(
                at.c.idx > signup.c.idx,
                at.c.idx <= signup.c.idx + max_age,
                at.c.at <= observed_until,
            ),
        )
        .join(spans, and_(spans.c.supplier_id == s.id, covers(spans, at.c.at)))
        .where(s.signed_up_at >= signed_up[0], s.signed_up_at < signed_up[1])
        .group_by(key, signup.c.idx, age, s.id)
        .subquery("active")
    )
    a = per_supplier.c
    rows = await session.execute(
        select(
            a.key, a.month_idx, a.age, func.count(), func.coalesce(func.sum(a.mrr), 0.0)
        ).group_by(a.key, a.month_idx, a.age)
    )
    return [CohortActive(str(k), int(i), int(g), int(n), float(v)) for k, i, g, n, v in rows]


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
