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

import numpy as np
import numpy.typing as npt
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

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


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
class CohortSpans:
    """One row per subscription span of the members, ordered by supplier then start, as
    parallel arrays. Months are numbered ``year * 12 + month - 1``."""

    supplier: IntArray
    """1, 2, ... per member (dense, in the order rows come)."""
    key: list[str]
    signup_month: IntArray
    first_covered: IntArray
    """Number of the first month start the span covers (its start at or before it)."""
    last_covered: IntArray
    """Number of the last month start it covers (:data:`OPEN_END` while open)."""
    mrr: FloatArray
    """Reporting minor units; 0 for a currency without a rate."""
    first_span: BoolArray
    """Whether the span starts at the supplier's first subscription start."""


async def cohort_spans(
    session: AsyncSession,
    *,
    key: ColumnElement[Any],
    signed_up: tuple[datetime, datetime],
    rates: Rates,
) -> CohortSpans:
    """Every span of the suppliers signed up in ``[signed_up)``, with the month numbers of its
    signup and of the month starts it covers: one scan of the spans, computed in SQL."""
    spans, s = subscription_spans(), Supplier
    supplier = func.dense_rank().over(order_by=spans.c.supplier_id)
    first_at = func.min(spans.c.starts_at).over(partition_by=spans.c.supplier_id)
    lo = month_ceiling(spans.c.starts_at)
    hi = case((spans.c.ends_at.is_(None), OPEN_END), else_=month_ceiling(spans.c.ends_at) - 1)
    rows = (
        await session.execute(
            select(
                supplier,
                key,
                month_number(s.signed_up_at),
                lo,
                hi,
                func.coalesce(spans.c.mrr_minor * rates.sql_factor(spans.c.currency), 0.0),
                case((spans.c.starts_at == first_at, 1), else_=0),
            )
            .select_from(spans)
            .join(s, s.id == spans.c.supplier_id)
            .where(s.signed_up_at >= signed_up[0], s.signed_up_at < signed_up[1])
            .order_by(supplier, lo)
        )
    ).all()
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return CohortSpans(empty, [], empty, empty, empty, empty.astype(np.float64), empty > 0)
    sup, keys, month, first, last, mrr, is_first = zip(*rows, strict=True)
    return CohortSpans(
        supplier=np.array(sup, dtype=np.int64),
        key=[str(k) for k in keys],
        signup_month=np.array(month, dtype=np.int64),
        first_covered=np.array(first, dtype=np.int64),
        last_covered=np.array(last, dtype=np.int64),
        mrr=np.array(mrr, dtype=np.float64),
        first_span=np.array(is_first, dtype=np.bool_),
    )


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
