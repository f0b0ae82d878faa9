"""The churn feature store: every supplier's window aggregates, maintained instead of recomputed.

Scoring every supplier from ``daily_rollups`` means aggregating 180 days of rows for each
of them (millions of rows at 100K suppliers, tens of seconds). The store keeps the result
instead: one row per supplier in ``churn_activity_windows`` holding the columns of
:data:`~wedsync_success.churn.features.STORED_WINDOWS`, all as of one day, the store's day
``A`` (``churn_feature_store``). Three operations keep it equal to the definition (the
rollup aggregation in ``features``), which the tests check after every kind of change:

* **rebuild** at a day: the definition's aggregation, written into the table;
* **roll forward** from ``A`` to a later ``A'``: only rollup rows on the days that enter or
  leave a window are read, and each column moves by (its value at ``A'``) - (at ``A``);
* **apply a batch** on ingest: rollup counts that a batch adds on days inside the
  look-back window up to ``A`` are added to the windows holding that day (a day counts as
  a new active day when its rollup row holds only this batch's events). Later days are
  left for the next roll forward.

Both writers lock the store's row first (a roll forward exclusively, ingest shared), so a
batch is added either before a roll forward, which then moves it along, or after it,
against the new day; never half of each.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, and_, bindparam, case, delete, exists, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity.models import DailyRollup, EventType, new_events
from wedsync_success.churn.models import FeatureStoreDay, activity_windows
from wedsync_success.churn.windows import LOOKBACK_DAYS, STORED_WINDOWS, StoredWindow
from wedsync_success.db.types import utc_day
from wedsync_success.db.upsert import dialect_insert, insert_for

STORE_ROW = 1
"""The primary key of the store's single ``churn_feature_store`` row."""
OFFSETS = frozenset({w.end for w in STORED_WINDOWS} | {w.start for w in STORED_WINDOWS})
"""Every window bound, in days before the store's day."""


@dataclass(frozen=True)
class RollForward:
    """What bringing the store to a day did."""

    as_of: date
    previous: date | None
    rebuilt: bool
    suppliers: int
    """Suppliers whose row was written."""


@dataclass(frozen=True)
class _Source:
    """Rows shaped like rollups: one (supplier, day, type) with a count and a new-day flag."""

    supplier_id: Any
    day: Any
    event_type: Any
    count: Any
    new_day: Any


def _bounds(prefix: str, day: date) -> dict[str, date]:
    """Values of the ``{prefix}_back_{n}`` parameters: ``day`` minus each window bound."""
    return {f"{prefix}_back_{n}": day - timedelta(days=n) for n in OFFSETS | {0, LOOKBACK_DAYS}}


def _back(prefix: str, n: int) -> Any:
    return bindparam(f"{prefix}_back_{n}", type_=Date)


def _contribution(w: StoredWindow, src: _Source, prefix: str) -> Any:
    """What one source row adds to column ``w`` of a store whose day is ``{prefix}_back_0``."""
    of_type = src.event_type == w.types[0] if len(w.types) == 1 else src.event_type.in_(w.types)
    if w.kind == "last":
        return case((and_(of_type, src.day <= _back(prefix, 0)), src.day))
    inside = and_(of_type, src.day > _back(prefix, w.end), src.day <= _back(prefix, w.start))
    return case((inside, src.count if w.kind == "sum" else src.new_day), else_=0)


def _aggregates(src: _Source, prefix: str) -> list[Any]:
    return [
        (func.max if w.kind == "last" else func.sum)(_contribution(w, src, prefix)).label(w.column)
        for w in STORED_WINDOWS
    ]


def _rollups() -> _Source:
    r = DailyRollup
    return _Source(r.supplier_id, r.day, r.event_type, r.count, literal(1))


def _add_into_store(insert: Any, deltas: Any) -> Any:
    """Upsert ``deltas`` (a select of supplier_id and every column) by adding to the store
    (``insert``: the backend's insert of ``activity_windows``)."""
    ins = insert.from_select(["supplier_id", *(w.column for w in STORED_WINDOWS)], deltas)
    table, new = activity_windows.c, ins.excluded
    updates: dict[str, Any] = {}
    for w in STORED_WINDOWS:
        if w.kind == "last":
            # Not GREATEST: SQLite's max(a, NULL) is NULL.
            updates[w.column] = case(
                (new[w.column].is_(None), table[w.column]),
                (table[w.column].is_(None), new[w.column]),
                (new[w.column] > table[w.column], new[w.column]),
                else_=table[w.column],
            )
        else:
            updates[w.column] = table[w.column] + new[w.column]
    return ins.on_conflict_do_update(index_elements=["supplier_id"], set_=updates)


def is_at(day_param: Any) -> Any:
    """A condition true only while the store is at ``day_param``: put in the statement that
    reads the windows, it makes that read consistent with the day it was checked against
    (a separate query could see the store move in between)."""
    d = FeatureStoreDay
    return exists().where(d.id == STORE_ROW, d.as_of == day_param)


async def store_day(session: AsyncSession, *, lock: str | None = None) -> date | None:
    """The store's day (None before the first build); ``lock`` "share" or "update" locks it."""
    query = select(FeatureStoreDay.as_of).where(FeatureStoreDay.id == STORE_ROW)
    if lock is not None:
        query = query.with_for_update(read=lock == "share")
    day: date | None = await session.scalar(query)
    return day


async def _set_day(session: AsyncSession, day: date, now: datetime) -> None:
    ins = dialect_insert(session, FeatureStoreDay).values(id=STORE_ROW, as_of=day, updated_at=now)
    await session.execute(
        ins.on_conflict_do_update(
            index_elements=["id"], set_={"as_of": ins.excluded.as_of, "updated_at": now}
        )
    )


async def _lock_for_update(session: AsyncSession, now: datetime) -> date | None:
    """Take the store for writing and return its day.

    The timestamp is written first: on SQLite that takes the database's write lock before
    anything is read, so no other writer can slip in between the read and the writes.
    """
    await session.execute(
        update(FeatureStoreDay).where(FeatureStoreDay.id == STORE_ROW).values(updated_at=now)
    )
    return await store_day(session, lock="update")


async def rebuild(session: AsyncSession, *, as_of: date, now: datetime) -> RollForward:
    """Recompute every supplier's windows as of ``as_of`` from the rollups (the definition)."""
    previous = await _lock_for_update(session, now)
    return await _rebuild(session, as_of, previous=previous, now=now)


async def _rebuild(
    session: AsyncSession, as_of: date, *, previous: date | None, now: datetime
) -> RollForward:
    """Replace every row by the definition's aggregation as of ``as_of`` (store locked)."""
    src = _rollups()
    query = (
        select(src.supplier_id, *_aggregates(src, "at"))
        .where(src.day > _back("at", LOOKBACK_DAYS), src.day <= _back("at", 0))
        .group_by(src.supplier_id)
    )
    await session.execute(delete(activity_windows))
    ins = activity_windows.insert().from_select(
        ["supplier_id", *(w.column for w in STORED_WINDOWS)], query
    )
    result = await session.execute(ins, _bounds("at", as_of))
    await _set_day(session, as_of, now)
    suppliers = int(getattr(result, "rowcount", 0) or 0)
    return RollForward(as_of=as_of, previous=previous, rebuilt=True, suppliers=suppliers)


async def roll_forward(session: AsyncSession, *, to: date, now: datetime) -> RollForward:
    """Bring the store to day ``to`` (building it the first time); a no-op if already there.

    A store ahead of ``to`` is left as it is: a day in the past is computed from the
    rollups instead (see :func:`churn.features.compute_features`).
    """
    previous = await _lock_for_update(session, now)
    if previous is None or (to - previous).days >= LOOKBACK_DAYS:
        return await _rebuild(session, to, previous=previous, now=now)
    if to <= previous:
        return RollForward(as_of=previous, previous=previous, rebuilt=False, suppliers=0)
    params = {**_bounds("old", previous), **_bounds("new", to), "crossing": _crossing(previous, to)}
    result = await session.execute(
        _add_into_store(dialect_insert(session, activity_windows), _moves()), params
    )
    await _set_day(session, to, now)
    return RollForward(
        as_of=to,
        previous=previous,
        rebuilt=False,
        suppliers=int(getattr(result, "rowcount", 0) or 0),
    )


def _moves() -> Any:
    """Per supplier, how much each column moves from the old day to the new one.

    A rollup row moves a column only if its day crosses one of the column's bounds, so only
    the rows of those few days are read (a list of days: both backends filter that far faster
    than as many ranges). Each row's move in and out of each distinct window is computed
    once (-1, 0 or +1), and every column then sums the moves of its own event types.
    """
    r = DailyRollup
    spans = sorted({(w.end, w.start) for w in STORED_WINDOWS if w.kind != "last"})

    def inside(prefix: str, end: int, start: int) -> Any:
        return case((and_(r.day > _back(prefix, end), r.day <= _back(prefix, start)), 1), else_=0)

    rows = (
        select(
            r.supplier_id,
            r.event_type,
            r.day,
            r.count,
            *(
                (inside("new", end, start) - inside("old", end, start)).label(f"m_{end}_{start}")
                for end, start in spans
            ),
        )
        .where(r.day.in_(bindparam("crossing", expanding=True, type_=Date)))
        .subquery()
    )
    columns = []
    for w in STORED_WINDOWS:
        of_type = rows.c.event_type.in_(w.types)
        if w.kind == "last":
            entered = and_(of_type, rows.c.day > _back("old", 0))
            columns.append(func.max(case((entered, rows.c.day))).label(w.column))
            continue
        move = rows.c[f"m_{w.end}_{w.start}"]
        amount = move * rows.c.count if w.kind == "sum" else move
        columns.append(func.sum(case((of_type, amount), else_=0)).label(w.column))
    return (
        select(rows.c.supplier_id, *columns)
        .group_by(rows.c.supplier_id)
        .order_by(rows.c.supplier_id)
    )


def _crossing(previous: date, to: date) -> list[date]:
    """Days whose rows enter or leave a window as the store moves from ``previous`` to ``to``."""
    steps = range(1, (to - previous).days + 1)
    return sorted({previous + timedelta(days=k - n) for n in OFFSETS for k in steps})


async def apply_batch(session: AsyncSession, batch_id: Any) -> None:
    """Add what the events stored under ``batch_id`` changed in the rollups to the store.

    Runs in the ingest transaction after the rollups were updated. Only days inside the
    look-back window of the store's day count; nothing happens before the store exists.
    """
    as_of = await store_day(session, lock="share")
    if as_of is None:
        return
    statement = _apply_statement(session.get_bind().dialect.name)
    await session.execute(statement, {**_bounds("at", as_of), "batch_id": batch_id})


@functools.lru_cache(maxsize=4)
def _apply_statement(dialect: str) -> Any:
    """:func:`apply_batch`'s upsert for one backend, the batch id and days bound at execution.
    Built once: its thirty-odd window aggregates took longer to build than to run for a batch
    of a few events. It holds no data."""
    e, r, t = new_events.c, DailyRollup, EventType  # the rows the batch's write kept aside
    day = utc_day(e.occurred_at)
    batch = (
        select(
            e.supplier_id,
            day.label("day"),
            t.name.label("event_type"),
            func.count().label("count"),
        )
        .join(t, t.code == e.type_code)  # one join, not the name's lookup per event
        .where(
            e.batch_id == bindparam("batch_id", type_=e.batch_id.type),
            day > _back("at", LOOKBACK_DAYS),
            day <= _back("at", 0),
        )
        .group_by(e.supplier_id, day, t.name)
        .subquery()
    )
    # The rollup row holds exactly this batch's count: the day was not active before.
    new_day = case((r.count == batch.c.count, 1), else_=0)
    joined = _Source(batch.c.supplier_id, batch.c.day, batch.c.event_type, batch.c.count, new_day)
    deltas = (
        select(joined.supplier_id, *_aggregates(joined, "at"))
        .select_from(batch)
        .join(
            r,
            and_(
                r.supplier_id == batch.c.supplier_id,
                r.day == batch.c.day,
                r.event_type == batch.c.event_type,
            ),
        )
        .group_by(joined.supplier_id)
        .order_by(joined.supplier_id)  # store rows locked in key order
    )
    return _add_into_store(insert_for(dialect, activity_windows), deltas)


def _parts(aggregate: str) -> list[StoredWindow]:
    return [w for w in STORED_WINDOWS if w.aggregate == aggregate]


def read_columns(as_of_param: Any) -> Sequence[Any]:
    """The store's columns as the definition's aggregates (named like them), for a query.

    ``as_of_param`` is the bound "as_of minus the look-back" day that ``last`` columns must
    be after (the store keeps them unbounded).
    """
    t = activity_windows.c
    out: list[Any] = []
    done: set[str] = set()
    for w in STORED_WINDOWS:
        if w.aggregate in done:
            continue
        done.add(w.aggregate)
        if w.kind == "last":
            out.append(case((t[w.column] > as_of_param, t[w.column])).label(w.aggregate))
        elif w.column != w.aggregate:  # a "types used" aggregate: count the non-zero types
            used = [case((t[p.column] > 0, 1), else_=0) for p in _parts(w.aggregate)]
            out.append(functools.reduce(operator.add, used).label(w.aggregate))
        else:
            out.append(t[w.column].label(w.aggregate))
    return out
