"""The one definition of "a customer at instant t".

A supplier is *active at* ``t`` when its subscription period covers ``t``, the period being
half-open: ``subscription_started_at <= t < subscription_ended_at`` (an open period has no
end). A subscription ending exactly at midnight is therefore not active at that midnight,
and one starting exactly at ``t`` is. Health scoring, churn features and labels, the overview
report and the synthetic population's statistics all use these functions, so the boundary
cannot drift between them (``tests/suppliers/test_active_at.py`` checks each consumer).

The same rule over the subscription *history* (``subscription_periods``, several periods at
once allowed) is :func:`period_covers` / :func:`active_at_by_periods`: a supplier is active at
``t`` when some period covers ``t``; a supplier without any stored period falls back to its
row (the row as one implicit period). The retention report reads history through these.

That implicit period has one reading, here: :func:`implicit_periods` (beside
:func:`stored_periods`) is what every history-based report reads, and
:func:`active_at_by_periods` is its condition form.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVarTuple

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    Subquery,
    and_,
    case,
    exists,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased

from wedsync_success.suppliers.models import SubscriptionPeriod, Supplier, SupplierCoverage

BoolArray = npt.NDArray[np.bool_]
PeriodRows = Select[uuid.UUID, datetime, datetime | None, int, str]
"""Spans ``supplier_id, starts_at, ends_at, mrr_minor, currency``."""
FloatArray = npt.NDArray[np.float64]
_Ts = TypeVarTuple("_Ts")


def active_at(moment: datetime | SQLColumnExpression[datetime]) -> ColumnElement[bool]:
    """SQL condition on ``suppliers``: the subscription period covers ``moment``.

    ``moment`` may be a value or any SQL expression of a timestamp (a bind parameter, a
    column of another table).
    """
    s = Supplier
    return and_(s.subscription_started_at <= moment, running_at(moment))


def running_at(moment: datetime | SQLColumnExpression[datetime]) -> ColumnElement[bool]:
    """SQL condition: the subscription had not ended by ``moment`` (the end is excluded)."""
    ended = Supplier.subscription_ended_at
    return or_(ended.is_(None), ended > moment)


def period_covers(moment: datetime | SQLColumnExpression[datetime]) -> ColumnElement[bool]:
    """SQL condition on ``subscription_periods``: the period covers ``moment``
    (``starts_at <= moment < ends_at``, an open period has no end)."""
    p = SubscriptionPeriod
    return and_(p.starts_at <= moment, or_(p.ends_at.is_(None), p.ends_at > moment))


def has_periods() -> ColumnElement[bool]:
    """SQL condition on ``suppliers``: the supplier has subscription history stored (then it
    has a first coverage stretch: one primary-key probe)."""
    c = SupplierCoverage
    return exists().where(c.supplier_id == Supplier.id, c.seq == 1)


def stretch_covers(
    stretch: type[SupplierCoverage] | Any, moment: datetime | SQLColumnExpression[datetime]
) -> ColumnElement[bool]:
    """SQL condition on a coverage stretch (``supplier_coverage`` or an alias of it): it
    covers ``moment``. The stretches are the stored periods merged (``suppliers/coverage.py``),
    so this is :func:`period_covers` for some period of the supplier."""
    return and_(
        stretch.starts_at <= moment, or_(stretch.ends_at.is_(None), stretch.ends_at > moment)
    )


def active_at_by_periods(moment: datetime | SQLColumnExpression[datetime]) -> ColumnElement[bool]:
    """SQL condition on ``suppliers``, from history: some subscription period of the supplier
    covers ``moment`` (read from its coverage stretches, at most one of which can); a
    supplier with no stored period is judged by its row (:func:`active_at`), its
    subscription taken as one implicit period. Where a query reads many suppliers, the join
    form :func:`join_active_at` says the same with two outer joins instead of probes."""
    c = SupplierCoverage
    covered = exists().where(c.supplier_id == Supplier.id, stretch_covers(c, moment))
    return or_(covered, and_(~has_periods(), active_at(moment)))


def join_active_at(
    query: Select[*_Ts],
    supplier_id: SQLColumnExpression[uuid.UUID],
    moment: datetime | SQLColumnExpression[datetime],
) -> tuple[Select[*_Ts], ColumnElement[bool]]:
    """:func:`active_at_by_periods` as joins: ``query`` (which must read ``suppliers``, the
    row of ``supplier_id``) outer-joined to the supplier's stretch covering ``moment`` and to
    its first stretch (at most one row each, so no row is repeated), and the condition on
    them. ``moment`` may be a column of a joined table (a prediction's horizon end)."""
    at = aliased(SupplierCoverage, name="covering_stretch")
    first = aliased(SupplierCoverage, name="first_stretch")
    joined = query.outerjoin(
        at, and_(at.supplier_id == supplier_id, stretch_covers(at, moment))
    ).outerjoin(first, and_(first.supplier_id == supplier_id, first.seq == 1))
    active = or_(at.supplier_id.is_not(None), and_(first.supplier_id.is_(None), active_at(moment)))
    return joined, active


def stored_periods() -> PeriodRows:
    """The stored history as spans: ``supplier_id, starts_at, ends_at, mrr_minor`` (net of the
    discount) and ``currency``, one row per period."""
    p = SubscriptionPeriod
    return select(
        p.supplier_id.label("supplier_id"),
        p.starts_at.label("starts_at"),
        p.ends_at.label("ends_at"),
        (p.mrr_minor - p.discount_minor).label("mrr_minor"),
        p.currency.label("currency"),
    )


def implicit_periods() -> PeriodRows:
    """The one implicit period of each supplier with no stored history, with the columns of
    :func:`stored_periods`: its row's ``[subscription_started_at, subscription_ended_at)`` at
    its current ``mrr_minor`` and ``currency``."""
    s = Supplier
    return select(
        s.id.label("supplier_id"),
        s.subscription_started_at.label("starts_at"),
        s.subscription_ended_at.label("ends_at"),
        s.mrr_minor.label("mrr_minor"),
        s.currency.label("currency"),
    ).where(~has_periods())


def coverage_by_supplier(moments: Sequence[datetime]) -> Subquery:
    """:func:`active_at_by_periods` at many instants in one pass, for counting: a subquery of
    one row per supplier with any period (stored or implicit), columns ``supplier_id`` and
    ``at_0 .. at_{n-1}`` (1 when some period covers ``moments[i]``, else 0). One scan of the
    coverage stretches grouped by supplier, instead of an EXISTS probe per supplier and
    instant."""
    # Only stretches that overlap [first, last] can cover one of the moments: the rest are
    # left out before grouping.
    first, last = min(moments), max(moments)
    c, s = SupplierCoverage, Supplier
    stored = select(
        c.supplier_id.label("supplier_id"),
        c.starts_at.label("starts_at"),
        c.ends_at.label("ends_at"),
    ).where(c.starts_at <= last, or_(c.ends_at.is_(None), c.ends_at > first))
    implicit = select(
        s.id.label("supplier_id"),
        s.subscription_started_at.label("starts_at"),
        s.subscription_ended_at.label("ends_at"),
    ).where(~has_periods(), s.subscription_started_at <= last, running_at(first))
    spans = union_all(stored, implicit).subquery("spans")
    covering = [
        func.max(
            case(
                (
                    and_(
                        spans.c.starts_at <= moment,
                        or_(spans.c.ends_at.is_(None), spans.c.ends_at > moment),
                    ),
                    1,
                ),
                else_=0,
            )
        ).label(f"at_{i}")
        for i, moment in enumerate(moments)
    ]
    return select(spans.c.supplier_id, *covering).group_by(spans.c.supplier_id).subquery("coverage")


def is_active_at(*, started_at: datetime, ended_at: datetime | None, moment: datetime) -> bool:
    """The same rule for one period in Python."""
    return started_at <= moment and (ended_at is None or ended_at > moment)


def running_at_seconds(ended_seconds: FloatArray, moment_seconds: float | FloatArray) -> BoolArray:
    """Vectorised :func:`running_at` over epoch-second ends (NaN = never ended), at one
    moment or at one moment per end."""
    with np.errstate(invalid="ignore"):
        result: BoolArray = np.isnan(ended_seconds) | (ended_seconds > moment_seconds)
    return result
