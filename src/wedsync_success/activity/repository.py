"""Every query of the activity domain: storing events and maintaining rollups from them."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    Uuid,
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
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from wedsync_success.activity.models import (
    ActivityBatch,
    ActivityEvent,
    DailyRollup,
    EventType,
    RawEventHorizon,
    SupplierEventTotal,
    new_events,
)
from wedsync_success.db.bulk import upsert_columns
from wedsync_success.db.locks import EVENT_ID_LOCK_CLASS, PARTITIONS_KEY
from wedsync_success.db.staging import StagingTable, prepare, stage
from wedsync_success.db.types import utc_day
from wedsync_success.db.upsert import dialect_insert
from wedsync_success.kit.limits import BIGINT_MAX, BIGINT_MIN
from wedsync_success.suppliers.models import Supplier


async def existing_supplier_ids(
    session: AsyncSession, supplier_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``supplier_ids`` exist.

    The ids travel as one parameter (a PostgreSQL array; a JSON array of hex texts, as
    SQLite stores them), not as thousands of ``IN`` parameters: an import asks this for a few
    thousand suppliers per batch, and expanding, binding and converting them one by one
    cost more than the query."""
    wanted = set(supplier_ids)
    if not wanted:
        return set()
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        rows = await connection.execute(_EXISTING_POSTGRES, {"ids": list(wanted)})
        return {uuid.UUID(int=found.int) for (found,) in rows}
    hexes = {supplier.hex: supplier for supplier in wanted}
    rows = await connection.execute(_EXISTING_SQLITE, {"ids": json.dumps(list(hexes))})
    return {hexes[found] for (found,) in rows}


_SUPPLIERS = Supplier.__tablename__
_EXISTING_POSTGRES = text(f"SELECT id FROM {_SUPPLIERS} WHERE id = ANY(:ids)").bindparams(
    bindparam("ids", type_=ARRAY(Uuid()))
)
_EXISTING_SQLITE = text(
    f"SELECT id FROM {_SUPPLIERS} WHERE id IN (SELECT value FROM json_each(:ids))"
).bindparams(bindparam("ids", type_=String()))


BULK_CACHE_KIB = 512 * 1024
"""SQLite page cache of a connection that imports events (the engine's default: 64 MiB). An
import of history inserts into the (supplier, time) index and the rollups' keys all over
them; once those outgrow the cache every insert reads and rewrites pages from the file, and
a million events took 15 times as long as 200,000. Allocated only as pages are read."""


async def use_bulk_cache(session: AsyncSession) -> None:
    """Give the session's SQLite connection :data:`BULK_CACHE_KIB` of page cache, for a bulk
    import (kept by the connection; nothing to do on PostgreSQL, whose buffers are shared)."""
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        await connection.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")


async def open_batch(session: AsyncSession, *, now: datetime) -> int:
    """A new batch stored at ``now``: the number its events carry."""
    batch_id = await session.scalar(
        insert(ActivityBatch).values(ingested_at=now).returning(ActivityBatch.id)
    )
    return int(cast(int, batch_id))


async def type_codes(session: AsyncSession, names: Iterable[str]) -> dict[str, int]:
    """The dictionary code of each of ``names``, adding the names it does not hold yet.

    Only missing names are inserted (a conflicting insert would still use up a number of
    the sequence on PostgreSQL); two writers adding the same new name meet on its unique
    key, and the second takes the first's code."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    t = EventType
    rows = await session.execute(select(t.name, t.code).where(t.name.in_(wanted)))
    found: dict[str, int] = {name: code for name, code in rows}
    missing = [name for name in wanted if name not in found]
    if missing:
        await session.execute(
            dialect_insert(session, t)
            .values([{"name": name} for name in missing])
            .on_conflict_do_nothing(index_elements=["name"])
        )
        rows = await session.execute(select(t.name, t.code).where(t.name.in_(missing)))
        found.update({name: code for name, code in rows})
    return found


def of_types(*names: str, column: ColumnElement[int] | None = None) -> ColumnElement[bool]:
    """Events of one of the types ``names`` (their codes are looked up once per query), by
    ``column`` (default: ``activity_events.type_code``)."""
    codes = select(EventType.code).where(EventType.name.in_(names))
    return (ActivityEvent.type_code if column is None else column).in_(codes)


async def insert_event_columns(
    session: AsyncSession, columns: Mapping[str, Sequence[Any]], *, batch_id: int
) -> None:
    """Insert events given as columns, skipping any ``event_id`` already stored: one value
    per row for each of ``EVENT_COLUMNS`` (``event_type`` a name; empty properties may be
    ``{}`` or None, and are stored as NULL); all are tagged with ``batch_id``
    (:func:`open_batch`). The rows that were new are exactly those carrying it.

    The bulk path of every write of events (API batches, imports, generated populations):

    - PostgreSQL: the rows stream through ``COPY`` (binary, the driver's
      ``copy_records_to_table``) into the connection's staging table (``db/staging.py``); the
      partitions of the months they fall in are created if missing
      (:func:`ensure_month_partitions`); then one ``INSERT … SELECT`` merges them. An
      ``event_id`` is unique within a partition by that partition's index, and across
      partitions by the merge: it takes the event-id lock buckets of its rows
      (:func:`_lock_event_ids`), so no other writer is inserting one of its ids, then skips
      every id found in any partition (an anti-join probing each partition's index).
    - SQLite: the driver's own ``executemany`` of the upsert (values bound in C), inside
      the batch's transaction; in process there is no round trip for a staging table to save.

    Either way the rows it inserted are kept in :data:`NEW_EVENTS` for the reads of what the
    batch stored (:func:`batch_size`, :func:`roll_up_batch`, the feature store…): on
    PostgreSQL by the merge itself (its ``RETURNING`` rows), on SQLite by a lookup of the
    batch's ids by key. No index on ``batch_id`` is needed to find them.
    """
    if not columns["event_id"]:
        return
    rows = await _event_rows(session, columns)
    if session.get_bind().dialect.name == "postgresql":
        await _stage_and_lock(session, rows)
        await _merge(session, _MERGE_KEEPING_NEW, batch_id, rows=len(rows))
        return
    await upsert_columns(
        session,
        ActivityEvent.__table__,  # type: ignore[arg-type]
        key=("event_id",),
        columns=rows,
        constants={"batch_id": batch_id},
        skip_existing=True,
    )
    connection = await session.connection()
    await prepare(connection, NEW_EVENTS)
    ids = json.dumps(list(rows["event_id"]))
    await connection.execute(_KEEP_NEW_SQLITE, {"ids": ids, "batch_id": batch_id})


EVENT_COLUMNS = (
    "event_id",
    "supplier_id",
    "user_id",
    "event_type",
    "occurred_at",
    "value",
    "properties",
)
"""The columns :func:`insert_event_columns` takes."""
STAGING = StagingTable(
    "activity_events_staging",
    {
        "event_id": ("varchar(128) NOT NULL", "VARCHAR(128) NOT NULL"),
        "supplier_id": ("uuid NOT NULL", "CHAR(32) NOT NULL"),
        "user_id": ("uuid", "CHAR(32)"),
        "type_code": ("smallint NOT NULL", "SMALLINT NOT NULL"),
        "occurred_at": ("timestamptz NOT NULL", "TEXT NOT NULL"),
        "value": ("bigint", "BIGINT"),
        "properties": ("text", "TEXT"),
    },
)
STAGING_TABLE = STAGING.name
NEW_EVENTS = StagingTable(
    new_events.name,
    {
        "event_id": ("varchar(128) NOT NULL", "VARCHAR(128) NOT NULL"),
        "supplier_id": ("uuid NOT NULL", "CHAR(32) NOT NULL"),
        "user_id": ("uuid", "CHAR(32)"),
        "type_code": ("smallint NOT NULL", "INTEGER NOT NULL"),
        "occurred_at": ("timestamptz NOT NULL", "TEXT NOT NULL"),
        "value": ("bigint", "BIGINT"),
        "properties": ("jsonb", "TEXT"),
        "batch_id": ("integer NOT NULL", "INTEGER NOT NULL"),
    },
)
"""Where a write of events keeps the rows it inserted (:data:`models.new_events`), with the
lifetime of every staging table (``db/staging.py``): emptied by the next write on the
connection, and at commit on PostgreSQL. Its readers run in the write's transaction, right
after it."""
_NEW_COLUMNS = ", ".join(NEW_EVENTS.columns)
_KEEP_NEW_SQLITE = text(
    f"INSERT INTO {NEW_EVENTS.name} ({_NEW_COLUMNS}) SELECT "
    + ", ".join(f"e.{name}" for name in NEW_EVENTS.columns)
    + " FROM activity_events e WHERE e.event_id IN (SELECT value FROM json_each(:ids)) "
    "AND e.batch_id = :batch_id"
).bindparams(bindparam("ids", type_=String()), bindparam("batch_id", type_=Integer))
EVENT_ID_BUCKETS = 64
"""Event ids are locked by bucket (a hash of the id modulo this): a batch of thousands takes
at most this many advisory locks (PostgreSQL's lock table is shared and bounded), and two
small batches rarely share one."""
_LOCK_STAGED_IDS = text(
    "SELECT count(pg_advisory_xact_lock(:class, bucket)) FROM ("
    f"SELECT DISTINCT hashtext(event_id) & {EVENT_ID_BUCKETS - 1} AS bucket "
    f"FROM {STAGING_TABLE} ORDER BY bucket) AS buckets"
)
_STAGED_MONTHS = text(
    f"SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC') FROM {STAGING_TABLE}"
)
# Event-id order: monotone ids (a sequence, a time-ordered id) fill their index's pages.
# The probe for a stored id is a LATERAL subquery with LIMIT 1, which the planner cannot
# turn into a join: each staged row looks its id up in every partition's event-id index.
# A NOT EXISTS let it hash-anti-join instead (the staging table has no statistics, so it
# guessed 200 rows), reading every stored event for every batch: an import slowed as the
# table grew, a million events took 0.1-1 s a batch to scan (EXPLAIN ANALYZE).
_MERGE_STAGED = text(
    "INSERT INTO activity_events (occurred_at, value, supplier_id, batch_id, type_code, "
    "event_id, user_id, properties) "
    "SELECT s.occurred_at, s.value, s.supplier_id, :batch_id, s.type_code, s.event_id, "
    "s.user_id, s.properties::jsonb FROM ("
    f"SELECT DISTINCT ON (event_id) * FROM {STAGING_TABLE} ORDER BY event_id, occurred_at"
    ") AS s LEFT JOIN LATERAL "
    "(SELECT true AS stored FROM activity_events e WHERE e.event_id = s.event_id LIMIT 1) "
    "AS d ON true WHERE d.stored IS NULL "
    "ORDER BY s.event_id ON CONFLICT DO NOTHING"
).bindparams(bindparam("batch_id", type_=Integer))


async def _event_rows(
    session: AsyncSession, columns: Mapping[str, Sequence[Any]]
) -> dict[str, Sequence[Any]]:
    """The columns of :func:`insert_event_columns` as stored: type codes, empty properties
    as None."""
    codes = await type_codes(session, columns["event_type"])
    rows = {name: columns[name] for name in EVENT_COLUMNS if name != "event_type"}
    rows["type_code"] = [codes[name] for name in columns["event_type"]]
    rows["properties"] = [p or None for p in columns["properties"]]
    return rows


async def _stage_and_lock(session: AsyncSession, columns: Mapping[str, Sequence[Any]]) -> None:
    """PostgreSQL: ``COPY`` the rows into the staging table, take their event-id locks,
    create the partitions of their months and empty :data:`NEW_EVENTS`: all the merge needs."""
    properties = [None if p is None else json.dumps(p) for p in columns["properties"]]
    await stage(session, STAGING, {**columns, "properties": properties})
    await _lock_event_ids(session)
    months = await session.scalars(_STAGED_MONTHS)
    await ensure_month_partitions(session, months.all())
    await prepare(await session.connection(), NEW_EVENTS)


def _saturating_sql(total: str, added: str) -> str:
    """:func:`_saturating_add` written out for the text statement below."""
    top, bottom = f"{BIGINT_MAX}::bigint", f"'{BIGINT_MIN}'::bigint"
    return (
        f"CASE WHEN {added} > 0 THEN CASE WHEN {total} > {top} - {added} THEN {top} "
        f"ELSE {total} + {added} END WHEN {added} < 0 THEN CASE WHEN {total} < "
        f"{bottom} - {added} THEN {bottom} ELSE {total} + {added} END ELSE {total} END"
    )


_MERGE_AND_ROLL_UP = text(
    "WITH ins AS ("
    + str(_MERGE_STAGED)
    + f" RETURNING {_NEW_COLUMNS}), kept AS (INSERT INTO {NEW_EVENTS.name} ({_NEW_COLUMNS}) "
    f"SELECT {_NEW_COLUMNS} FROM ins), "
    "by_day AS (INSERT INTO daily_rollups (supplier_id, day, event_type, count, value_sum) "
    "SELECT i.supplier_id, (i.occurred_at AT TIME ZONE 'UTC')::date, t.name, count(*), "
    "coalesce(sum(i.value), 0) FROM ins i JOIN event_types t ON t.code = i.type_code "
    "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 "  # rows locked in key order
    "ON CONFLICT (supplier_id, day, event_type) DO UPDATE SET "
    "count = daily_rollups.count + excluded.count, value_sum = "
    + _saturating_sql("daily_rollups.value_sum", "excluded.value_sum")
    + "), by_type AS (INSERT INTO supplier_event_totals "
    "(supplier_id, event_type, count, value_sum, first_at, last_at) "
    "SELECT i.supplier_id, t.name, count(*), coalesce(sum(i.value), 0), min(i.occurred_at), "
    "max(i.occurred_at) FROM ins i JOIN event_types t ON t.code = i.type_code "
    "GROUP BY 1, 2 ORDER BY 1, 2 "
    "ON CONFLICT (supplier_id, event_type) DO UPDATE SET "
    "count = supplier_event_totals.count + excluded.count, value_sum = "
    + _saturating_sql("supplier_event_totals.value_sum", "excluded.value_sum")
    + ", first_at = least(supplier_event_totals.first_at, excluded.first_at), "
    "last_at = greatest(supplier_event_totals.last_at, excluded.last_at) "
    "RETURNING supplier_id) "
    "SELECT (SELECT count(*) FROM ins), ARRAY(SELECT DISTINCT supplier_id FROM by_type)"
).bindparams(bindparam("batch_id", type_=Integer))
"""The merge of :data:`_MERGE_STAGED` and the rollups of exactly the rows it inserted, in
one statement: the rollups aggregate the merge's ``RETURNING`` rows (an id skipped as a
duplicate is not among them, so it is never counted twice), with no second read of the
events by batch; the rows are also kept in :data:`NEW_EVENTS`. Returns how many were
inserted and the suppliers they belong to."""
_MERGE_KEEPING_NEW = text(
    f"WITH ins AS ({_MERGE_STAGED} RETURNING {_NEW_COLUMNS}) "
    f"INSERT INTO {NEW_EVENTS.name} ({_NEW_COLUMNS}) SELECT {_NEW_COLUMNS} FROM ins"
).bindparams(bindparam("batch_id", type_=Integer))
"""The merge alone, keeping the rows it inserted in :data:`NEW_EVENTS`."""


@dataclass(frozen=True)
class StoredEvents:
    """What :func:`store_events` did."""

    inserted: int
    """Events newly stored (those carrying the batch's id)."""
    supplier_ids: list[uuid.UUID]
    """The suppliers of those events, whose rollups changed."""


async def store_events(
    session: AsyncSession, columns: Mapping[str, Sequence[Any]], *, batch_id: int
) -> StoredEvents:
    """:func:`insert_event_columns` and the rollups of the rows it inserted (what
    :func:`roll_up_batch` does), for a write of events that stores and rolls up at once.

    PostgreSQL: the staged rows are merged and rolled up by one statement
    (:data:`_MERGE_AND_ROLL_UP`). SQLite: the driver's ``executemany`` of the upsert, then
    the rollups from the rows it kept in :data:`NEW_EVENTS`, in the same transaction."""
    if not columns["event_id"]:
        return StoredEvents(0, [])
    if session.get_bind().dialect.name != "postgresql":
        await insert_event_columns(session, columns, batch_id=batch_id)
        inserted = await batch_size(session, batch_id)
        affected = await roll_up_batch(session, batch_id) if inserted else []
        return StoredEvents(inserted, affected)
    rows = await _event_rows(session, columns)
    await _stage_and_lock(session, rows)
    result = (await _merge(session, _MERGE_AND_ROLL_UP, batch_id, rows=len(rows))).one()
    return StoredEvents(int(result[0]), sorted(uuid.UUID(int=found.int) for found in result[1]))


MERGE_WORK_MEM = "64MB"
"""Sort memory of the merge (PostgreSQL's default, 4 MB, spilled a 50,000-row history
batch's sorts to disk three times)."""
_MERGE_SETTINGS = text(
    "SELECT current_setting('enable_seqscan'), current_setting('work_mem'), "
    "set_config('enable_seqscan', 'off', true), set_config('work_mem', :work_mem, true)"
)
_RESTORE_SETTINGS = text(
    "SELECT set_config('enable_seqscan', :seqscan, true), set_config('work_mem', :work_mem, true)"
)


TUNED_MERGE_MIN_ROWS = 5001
"""Batches of at least this many rows (more than an API batch holds: history imports) are
merged with the settings of :func:`_merge`; an API batch's plan needs neither, and the two
extra round trips made many small producers at once four times slower."""


async def _merge(session: AsyncSession, statement: Any, batch_id: int, *, rows: int) -> Any:
    """Run a merge of the ``rows`` staged rows (:data:`_MERGE_STAGED` inside ``statement``);
    a history batch (:data:`TUNED_MERGE_MIN_ROWS`) with sequential scans off and room to
    sort, then both settings put back.

    A partition this transaction has just created looks empty to the planner, which then
    probed it for each staged id by scanning it while the merge filled it (a 50,000-event
    batch of a new month took 47 s instead of 0.3 s); with sequential scans off every
    probe walks the partition's event-id index (the staging and CTE scans have no index:
    they stay sequential)."""
    if rows < TUNED_MERGE_MIN_ROWS:
        return await session.execute(statement, {"batch_id": batch_id})
    previous = (await session.execute(_MERGE_SETTINGS, {"work_mem": MERGE_WORK_MEM})).one()
    result = await session.execute(statement, {"batch_id": batch_id})
    await session.execute(_RESTORE_SETTINGS, {"seqscan": previous[0], "work_mem": previous[1]})
    return result


async def _lock_event_ids(session: AsyncSession) -> None:
    """Serialise this transaction with every other writer of one of the staged event ids
    (by bucket, in bucket order, so two writers cannot wait on each other crosswise).

    Taken after the type dictionary and before any partition or event row: every writer
    goes through those steps in the same order, once (see ``db/locks.py``)."""
    await session.execute(_LOCK_STAGED_IDS, {"class": EVENT_ID_LOCK_CLASS})


SUPPLIER_TIME_INDEX = "ix_activity_events_supplier_time"
_PARTITION = re.compile(r"activity_events_y(\d{4})m(\d{2})")
_PARTITIONS = text(
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = 'activity_events'::regclass"
)


def month_start(moment: datetime) -> datetime:
    """The first instant (UTC) of ``moment``'s month."""
    at = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def next_month(month: datetime) -> datetime:
    """The first instant of the month after ``month`` (a month's first instant)."""
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)


def partition_name(month: datetime) -> str:
    """The name of the partition holding the events of ``month``."""
    return f"activity_events_y{month.year:04d}m{month.month:02d}"


async def month_partitions(session: AsyncSession) -> dict[datetime, str]:
    """Each month that has a partition, with the partition's name (none on SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        return {}
    names = await session.scalars(_PARTITIONS)
    found: dict[datetime, str] = {}
    for name in names:
        match = _PARTITION.fullmatch(name)
        if match:
            found[datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)] = name
    return found


async def ensure_month_partitions(session: AsyncSession, months: Iterable[datetime]) -> list[str]:
    """PostgreSQL: create the partitions of ``months`` (any moments in them) that do not
    exist yet, each with its event-id key; returns the names created.

    Creating a partition locks the whole table until the transaction commits, so the
    partition lock serialises creators, and ``IF NOT EXISTS`` lets the second of two that
    wanted the same month find the first's. A month's partition is only ever created once:
    ``events prune`` creates the current and next months' ahead, so live ingest never does.
    """
    wanted = {month_start(m) for m in months}
    existing = await month_partitions(session)
    missing = sorted(wanted - set(existing))
    if not missing:
        return []
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PARTITIONS_KEY})
    for month in missing:
        name = partition_name(month)
        await session.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF activity_events FOR VALUES "
                f"FROM ('{month.isoformat()}') TO ('{next_month(month).isoformat()}')"
            )
        )
        await session.execute(
            text(f"CREATE UNIQUE INDEX IF NOT EXISTS {name}_event_id ON {name} (event_id)")
        )
    return [partition_name(month) for month in missing]


_SUPPLIER_TIME_INDEXES = text(
    "SELECT t.relname, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "JOIN pg_index x ON x.indexrelid = c.oid JOIN pg_class t ON t.oid = x.indrelid "
    "WHERE i.inhparent = CAST(:parent AS regclass)"
)


async def supplier_time_indexes(connection: AsyncConnection) -> dict[str, str]:
    """PostgreSQL: each partition of ``activity_events`` with the name of its part of the
    (supplier, time) index."""
    rows = await connection.execute(_SUPPLIER_TIME_INDEXES, {"parent": SUPPLIER_TIME_INDEX})
    return {table: index for table, index in rows}


async def compact_supplier_time_index(connection: AsyncConnection, partition: str) -> None:
    """PostgreSQL: build ``partition``'s part of the (supplier, time) index afresh, packed.

    A history import inserts every supplier's events all over that index, so its pages
    split and stay a third empty (55 bytes an event); built from the sorted rows it takes
    about 40. ``CONCURRENTLY``: readers and writers of the partition go on meanwhile, so
    ``connection`` must be in autocommit (it cannot run inside a transaction)."""
    index = (await supplier_time_indexes(connection))[partition]
    await connection.exec_driver_sql(f'REINDEX INDEX CONCURRENTLY "{index}"')


async def batch_size(session: AsyncSession, batch_id: int) -> int:
    """How many events were newly stored under ``batch_id``."""
    n = new_events
    count = await session.scalar(select(func.count()).where(n.c.batch_id == batch_id))
    return int(count or 0)


async def batch_event_ids(
    session: AsyncSession, batch_id: int, event_types: Iterable[str]
) -> set[str]:
    """Ids of the events of ``event_types`` newly stored under ``batch_id``."""
    n = new_events
    rows = await session.scalars(
        select(n.c.event_id).where(
            n.c.batch_id == batch_id, of_types(*event_types, column=n.c.type_code)
        )
    )
    return set(rows)


def _saturating_add(total: Any, added: Any) -> Any:
    """``total + added`` held at the BIGINT bounds instead of failing with "bigint out of
    range" (PostgreSQL) or turning into a float (SQLite); see ``kit/limits.py`` for why
    accepted amounts get there only after tens of millions of the largest payments.

    Nested CASEs, because SQL does not promise to evaluate ``AND`` left to right and
    ``BIGINT_MAX - added`` itself overflows for a negative ``added``."""
    top = literal(BIGINT_MAX, BigInteger)
    bottom = literal(BIGINT_MIN, BigInteger)
    return case(
        (added > 0, case((total > top - added, top), else_=total + added)),
        (added < 0, case((total < bottom - added, bottom), else_=total + added)),
        else_=total,
    )


async def roll_up_batch(session: AsyncSession, batch_id: int) -> list[uuid.UUID]:
    """Fold the events newly stored under ``batch_id`` (kept in :data:`NEW_EVENTS`) into the
    rollups; returns the suppliers."""
    ev, types = new_events.c, EventType
    occurred_on = utc_day(ev.occurred_at)
    by_day = (
        select(
            ev.supplier_id,
            occurred_on.label("occurred_on"),
            ev.type_code,
            func.count().label("count"),
            func.coalesce(func.sum(ev.value), 0).label("value_sum"),
        )
        .where(ev.batch_id == batch_id)
        .group_by(ev.supplier_id, occurred_on, ev.type_code)
        .subquery()
    )
    daily = (
        select(by_day.c.supplier_id, by_day.c.occurred_on, types.name, by_day.c.count)
        .add_columns(by_day.c.value_sum)
        .join(types, types.code == by_day.c.type_code)
        .order_by(
            by_day.c.supplier_id, by_day.c.occurred_on, types.name
        )  # rows locked in key order
    )
    ins = dialect_insert(session, DailyRollup).from_select(
        ["supplier_id", "day", "event_type", "count", "value_sum"], daily
    )
    await session.execute(
        ins.on_conflict_do_update(
            index_elements=["supplier_id", "day", "event_type"],
            set_={
                "count": DailyRollup.count + ins.excluded.count,
                "value_sum": _saturating_add(DailyRollup.value_sum, ins.excluded.value_sum),
            },
        )
    )

    by_type = (
        select(
            ev.supplier_id,
            ev.type_code,
            func.count().label("count"),
            func.coalesce(func.sum(ev.value), 0).label("value_sum"),
            func.min(ev.occurred_at).label("first_at"),
            func.max(ev.occurred_at).label("last_at"),
        )
        .where(ev.batch_id == batch_id)
        .group_by(ev.supplier_id, ev.type_code)
        .subquery()
    )
    totals = (
        select(by_type.c.supplier_id, types.name, by_type.c.count, by_type.c.value_sum)
        .add_columns(by_type.c.first_at, by_type.c.last_at)
        .join(types, types.code == by_type.c.type_code)
        .order_by(by_type.c.supplier_id, types.name)
    )
    ins_t = dialect_insert(session, SupplierEventTotal).from_select(
        ["supplier_id", "event_type", "count", "value_sum", "first_at", "last_at"], totals
    )
    t = SupplierEventTotal
    await session.execute(
        ins_t.on_conflict_do_update(
            index_elements=["supplier_id", "event_type"],
            set_={
                "count": t.count + ins_t.excluded.count,
                "value_sum": _saturating_add(t.value_sum, ins_t.excluded.value_sum),
                "first_at": case(
                    (ins_t.excluded.first_at < t.first_at, ins_t.excluded.first_at),
                    else_=t.first_at,
                ),
                "last_at": case(
                    (ins_t.excluded.last_at > t.last_at, ins_t.excluded.last_at),
                    else_=t.last_at,
                ),
            },
        )
    )
    affected = await session.scalars(
        select(ev.supplier_id).where(ev.batch_id == batch_id).distinct()
    )
    return list(affected)


async def recent_events(
    session: AsyncSession, supplier_id: uuid.UUID, *, limit: int
) -> Sequence[ActivityEvent]:
    """The supplier's latest events, newest first."""
    rows = await session.scalars(
        select(ActivityEvent)
        .where(ActivityEvent.supplier_id == supplier_id)
        .order_by(ActivityEvent.occurred_at.desc(), ActivityEvent.event_id.desc())
        .limit(limit)
    )
    return rows.all()


async def last_seen_by_user(
    session: AsyncSession, supplier_id: uuid.UUID
) -> dict[uuid.UUID, datetime]:
    """When each user of the supplier was last seen: their latest event (one grouped query
    over the supplier's events)."""
    e = ActivityEvent
    rows = await session.execute(
        select(e.user_id, func.max(e.occurred_at))
        .where(e.supplier_id == supplier_id, e.user_id.is_not(None))
        .group_by(e.user_id)
    )
    return {user_id: seen for user_id, seen in rows if user_id is not None}


async def first_activity_after(
    session: AsyncSession,
    supplier_id: uuid.UUID,
    *,
    as_of: date,
    known_at: datetime,
    since: datetime,
) -> datetime | None:
    """When the supplier's earliest activity that a view computed from features as of
    ``as_of`` at ``known_at`` could not include happened: an event on a later day, or one
    stored after ``known_at`` (a late arrival). Only events from ``since`` on are looked at
    (the supplier's time index bounds the scan); None when there is none."""
    e, b = ActivityEvent, ActivityBatch
    stored_later = select(b.id).where(b.ingested_at > known_at)
    return await session.scalar(
        select(func.min(e.occurred_at)).where(
            e.supplier_id == supplier_id,
            e.occurred_at >= since,
            or_(e.occurred_on > as_of, e.batch_id.in_(stored_later)),
        )
    )


async def lifetime_counts(session: AsyncSession, supplier_id: uuid.UUID) -> dict[str, int]:
    """How many events of each type the supplier has ever sent."""
    rows = await session.execute(
        select(SupplierEventTotal.event_type, SupplierEventTotal.count).where(
            SupplierEventTotal.supplier_id == supplier_id
        )
    )
    return {event_type: int(count) for event_type, count in rows}


async def failed_charges(
    session: AsyncSession, batch_id: int, *, since: datetime
) -> list[tuple[str, uuid.UUID, datetime, dict[str, Any]]]:
    """Failed subscription charges newly stored under ``batch_id`` that happened since
    ``since``: (event id, supplier, when, properties), in time order."""
    e = new_events.c
    rows = await session.execute(
        select(e.event_id, e.supplier_id, e.occurred_at, e.properties)
        .where(
            e.batch_id == batch_id,
            of_types("payment_failed", column=e.type_code),
            e.occurred_at >= since,
        )
        .order_by(e.occurred_at, e.event_id)
    )
    charges = [(event_id, supplier, at, props or {}) for event_id, supplier, at, props in rows]
    return [c for c in charges if c[3].get("kind", "subscription") == "subscription"]


async def newly_stored_since(
    session: AsyncSession, batch_id: int, event_types: Iterable[str], *, since: datetime
) -> list[tuple[str, uuid.UUID, uuid.UUID | None, datetime, dict[str, Any]]]:
    """Events of ``event_types`` newly stored under ``batch_id`` that happened since
    ``since``: (event id, supplier, user, when, properties), in time order."""
    types = list(event_types)
    if not types:
        return []
    e = new_events.c
    rows = await session.execute(
        select(e.event_id, e.supplier_id, e.user_id, e.occurred_at, e.properties)
        .where(e.batch_id == batch_id, of_types(*types, column=e.type_code), e.occurred_at >= since)
        .order_by(e.occurred_at, e.event_id)
    )
    return [(ev, supplier, user, at, props or {}) for ev, supplier, user, at, props in rows]


async def pruned_before(session: AsyncSession) -> datetime | None:
    """How far back raw events were pruned (None: never)."""
    return await session.scalar(select(RawEventHorizon.pruned_before))


async def raise_pruned_before(session: AsyncSession, before: datetime) -> None:
    """Record that raw events before ``before`` are (being) pruned; never moves back."""
    ins = dialect_insert(session, RawEventHorizon).values(id=1, pruned_before=before)
    h = RawEventHorizon
    await session.execute(
        ins.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "pruned_before": case(
                    (ins.excluded.pruned_before > h.pruned_before, ins.excluded.pruned_before),
                    else_=h.pruned_before,
                )
            },
        )
    )


async def delete_events_before(session: AsyncSession, before: datetime, *, limit: int) -> int:
    """Delete up to ``limit`` raw events that happened before ``before``; how many went.

    On PostgreSQL this only meets what :func:`drop_month_partition` left: rows of the
    default partition. Rollups, totals and everything computed from them are separate
    tables: untouched."""
    e = ActivityEvent
    chunk = select(e.event_id).where(e.occurred_at < before).limit(limit)
    result = await session.execute(delete(e).where(e.occurred_at < before, e.event_id.in_(chunk)))
    return int(getattr(result, "rowcount", 0) or 0)


async def months_before(session: AsyncSession, before: datetime) -> list[datetime]:
    """The months (first instants) holding raw events before ``before``, oldest first: on
    PostgreSQL those of the partitions that hold any, and of rows in the default one."""
    if session.get_bind().dialect.name == "postgresql":
        months = set()
        for month, name in (await month_partitions(session)).items():
            if month < before and await session.scalar(text(f"SELECT EXISTS (TABLE {name})")):
                months.add(month)
        stray = await session.scalars(
            text(
                "SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC') "
                "FROM activity_events_default WHERE occurred_at < :before"
            ),
            {"before": before},
        )
        months.update(m.replace(tzinfo=UTC) for m in stray)
        return sorted(months)
    e = ActivityEvent
    found = await session.scalars(
        select(func.strftime("%Y-%m", e.occurred_at)).where(e.occurred_at < before).distinct()
    )
    return sorted(datetime.strptime(m, "%Y-%m").replace(tzinfo=UTC) for m in found)


ARCHIVE_COLUMNS = ("event_id", "supplier_id", "user_id", "type", "occurred_at", "properties")
"""The columns of an archive file: those ``import events`` reads."""
_ARCHIVE_MONTH = text(
    "SELECT e.event_id, e.supplier_id, e.user_id, t.name AS type, "
    "to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"') "
    "AS occurred_at, e.properties "
    "FROM activity_events e JOIN event_types t ON t.code = e.type_code "
    "WHERE e.occurred_at >= :start AND e.occurred_at < :end"
)


async def archive_month(
    session: AsyncSession, month: datetime, write: Callable[[bytes], Any]
) -> int:
    """Write the raw events of ``month`` (its first instant) as CSV with a header, in the
    columns of :data:`ARCHIVE_COLUMNS`, through ``write``; how many events.

    PostgreSQL: ``COPY … TO STDOUT`` (the server writes the CSV; partition pruning reads
    the month's partition only). SQLite: the rows streamed through Python's CSV writer."""
    bounds = {"start": month, "end": next_month(month)}
    if session.get_bind().dialect.name == "postgresql":
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        query = str(_ARCHIVE_MONTH).replace(":start", "$1").replace(":end", "$2")

        async def sink(data: bytes) -> None:
            write(data)

        status = await driver.copy_from_query(
            query, bounds["start"], bounds["end"], output=sink, format="csv", header=True
        )
        return int(str(status).rsplit(" ", 1)[-1])
    e, t = ActivityEvent, EventType
    rows = await session.stream(
        select(e.event_id, e.supplier_id, e.user_id, t.name, e.occurred_at, e.properties)
        .join(t, t.code == e.type_code)
        .where(e.occurred_at >= bounds["start"], e.occurred_at < bounds["end"])
        .execution_options(yield_per=10_000)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ARCHIVE_COLUMNS)
    count = 0
    async for part in rows.partitions():
        writer.writerows(
            (i, s, "" if u is None else u, n, at.isoformat(), "" if p is None else json.dumps(p))
            for i, s, u, n, at, p in part
        )
        count += len(part)
        write(out.getvalue().encode())
        out.seek(0)
        out.truncate()
    write(out.getvalue().encode())
    return count


async def drop_month_partition(session: AsyncSession, month: datetime) -> int:
    """PostgreSQL: detach and drop the partition of ``month``; how many events it held.

    Instant whatever its size, and leaves no dead rows for a vacuum to clear. Detaching
    waits for the transactions reading the table, and holds the next ones back while it
    runs (short: nothing is scanned)."""
    name = partition_name(month)
    count = await session.scalar(text(f"SELECT count(*) FROM {name}"))
    await session.execute(text(f"ALTER TABLE activity_events DETACH PARTITION {name}"))
    await session.execute(text(f"DROP TABLE {name}"))
    return int(count or 0)
