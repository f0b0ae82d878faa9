"""Supplier coverage: each supplier's stored subscription periods merged into stretches
(``supplier_coverage``), so "is it a customer at t" and "which month starts does it cover"
are one indexed row per stretch instead of a probe over every period.

Periods that overlap or touch (one starts where another ends) form one stretch; a gap of any
length starts a new one, so a supplier covers an instant exactly when one of its stretches
does, and at most one does. The month numbers stored beside each stretch (the first month
start covered, the first no longer covered) let the cohort table count ages with integer
arithmetic.

The table is derived, never written by hand: :func:`refresh_coverage` rebuilds the stretches
of the suppliers given, set-based (two window passes and a grouping over their periods, one
statement to delete and one to insert), and every writer of ``subscription_periods`` calls it
in the same transaction, after its writes, with the suppliers locked
(``suppliers/history.py`` for imports, ``suppliers/subscription_events.py`` for events).
The migration that creates the table fills it for the history already stored
(:func:`refresh_statements` with no ids).

A supplier without stored periods has no stretch: its supplier row is its one implicit
period, as everywhere else (``suppliers/subscriptions.py``), so consumers read "no stretch"
as "judge by the row".
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Executable,
    Uuid,
    any_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db.types import UTCDateTime
from wedsync_success.reports.sql_months import month_ceiling
from wedsync_success.suppliers.models import SubscriptionPeriod, SupplierCoverage

_NEVER = datetime(9999, 12, 31, tzinfo=UTC)
"""The end of an open period, while stretches are merged."""


def _of_suppliers(column: Any, dialect: Dialect, supplier_ids: Sequence[uuid.UUID]) -> Any:
    """``column`` is one of ``supplier_ids``, as one bound value whatever their number: an
    array on PostgreSQL, a JSON list read by ``json_each`` on SQLite (stored as hex there)."""
    if dialect.name == "postgresql":
        ids = bindparam("coverage_ids", sorted(set(supplier_ids)), type_=ARRAY(Uuid))
        return column == any_(ids)
    listed = json.dumps(sorted({s.hex for s in supplier_ids}))
    each = text("SELECT value FROM json_each(:coverage_ids)").bindparams(coverage_ids=listed)
    return column.in_(each)


def _stretches(where: list[ColumnElement[bool]]) -> Any:
    """The stretches of the periods matching ``where``: ``supplier_id, seq, starts_at,
    ends_at, start_month, end_month``. A period starts a new stretch when it starts after
    every period before it (by start, then end, then id: a total order, so both windows
    see the same sequence) has ended."""
    p = SubscriptionPeriod
    never = literal(_NEVER, UTCDateTime())
    end = func.coalesce(p.ends_at, never)
    order = (p.starts_at, end, p.id)
    before_end = func.max(end).over(partition_by=p.supplier_id, order_by=order, rows=(None, -1))
    first = case((or_(before_end.is_(None), p.starts_at > before_end), 1), else_=0)
    flagged = (
        select(p.supplier_id, p.starts_at, p.id, end.label("end_at"), first.label("first"))
        .where(*where)
        .subquery("flagged")
    )
    f = flagged.c
    numbered = select(
        f.supplier_id,
        f.starts_at,
        f.end_at,
        func.sum(f.first)
        .over(partition_by=f.supplier_id, order_by=(f.starts_at, f.end_at, f.id), rows=(None, 0))
        .label("seq"),
    ).subquery("numbered")
    n = numbered.c
    grouped = (
        select(
            n.supplier_id,
            n.seq,
            func.min(n.starts_at).label("starts_at"),
            func.max(n.end_at).label("end_at"),
        )
        .group_by(n.supplier_id, n.seq)
        .subquery("grouped")
    )
    g = grouped.c
    is_open = g.end_at == never
    return select(
        g.supplier_id,
        g.seq,
        g.starts_at,
        case((is_open, None), else_=g.end_at),
        month_ceiling(g.starts_at),
        case((is_open, None), else_=month_ceiling(g.end_at)),
    )


def refresh_statements(
    dialect: Dialect, supplier_ids: Sequence[uuid.UUID] | None
) -> list[Executable]:
    """The two statements that rebuild the stretches of ``supplier_ids`` (every supplier
    when None): delete theirs, insert them again from their periods."""
    c, p = SupplierCoverage, SubscriptionPeriod
    if supplier_ids is None:
        clear: Executable = delete(c)
        where: list[ColumnElement[bool]] = []
    else:
        clear = delete(c).where(_of_suppliers(c.supplier_id, dialect, supplier_ids))
        where = [_of_suppliers(p.supplier_id, dialect, supplier_ids)]
    columns = ("supplier_id", "seq", "starts_at", "ends_at", "start_month", "end_month")
    fill = insert(c).from_select(columns, _stretches(where))
    return [clear, fill]


async def refresh_coverage(
    *, session: AsyncSession, supplier_ids: Sequence[uuid.UUID] | None
) -> None:
    """Rebuild the coverage stretches of ``supplier_ids`` (all suppliers when None) from
    their stored periods, in the session's transaction. Call after writing periods, with
    the suppliers locked (``db/locks.py``), so two writers of one supplier cannot interleave
    their refreshes."""
    if supplier_ids is not None and not supplier_ids:
        return
    dialect = session.get_bind().dialect
    for statement in refresh_statements(dialect, supplier_ids):
        await session.execute(statement)
