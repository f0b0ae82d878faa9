"""Benchmark data: API-shaped suppliers and events, and bulk fixtures written with sync drivers.

Two kinds of data live here:

* items for the product path (``upsert_batch``, ``pipeline.ingest``) shaped exactly as the
  HTTP API receives them, so the benchmark measures validation too;
* a bulk fixture for the full-recompute figure: suppliers and ~90 days of ``daily_rollups``
  generated with NumPy and written straight through the synchronous drivers (``sqlite3``
  ``executemany``, psycopg ``COPY``). This is *not* the product path; it only builds a large
  realistic database quickly. :func:`check_encoding` proves, before any seeding, that rows
  written this way read back through the ORM exactly as rows the ORM wrote.
"""

from __future__ import annotations

import secrets
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from sqlalchemy import delete, select
from sqlalchemy.engine.url import make_url

from wedsync_success.activity.models import DailyRollup
from wedsync_success.context import AppContext
from wedsync_success.db import migrate
from wedsync_success.db.registry import metadata
from wedsync_success.suppliers.models import Supplier, VendorType

ROLLUP_DAYS = 90
"""Days of rollups seeded for the full-recompute figure (today included)."""

INGEST_EVENT_MIX: dict[str, float] = {
    "login": 0.40,
    "message_sent": 0.22,
    "client_added": 0.14,
    "form_submitted": 0.14,
    "payment_received": 0.10,
}
"""Event types pushed through ``pipeline.ingest`` and their shares."""

ROLLUP_TYPE_WEIGHTS: dict[str, float] = {
    "client_added": 0.08,
    "feature_used": 0.09,
    "form_created": 0.05,
    "form_submitted": 0.08,
    "invoice_sent": 0.06,
    "journey_completed": 0.04,
    "journey_started": 0.05,
    "login": 0.30,
    "message_sent": 0.14,
    "payment_failed": 0.004,
    "referral_converted": 0.004,
    "referral_sent": 0.02,
    "support_ticket_opened": 0.012,
}
"""Scored event types seeded into rollups (alphabetical, which is also the key order)."""

VENDOR_TYPES = [v.value for v in VendorType]
COUNTRIES = ["GB", "GB", "GB", "IE", "US", "AU", "FR", "ES"]
PLANS = {"free": 0, "starter": 1900, "professional": 4900, "scale": 12900}
STATUSES = {"active": 0.80, "trialing": 0.12, "past_due": 0.08}

SUPPLIER_COLUMNS = (
    "id",
    "business_name",
    "vendor_type",
    "country",
    "signed_up_at",
    "plan_tier",
    "mrr_minor",
    "currency",
    "subscription_status",
    "subscription_started_at",
    "subscription_ended_at",
    "cancellation_reason",
    "created_at",
)
ROLLUP_COLUMNS = ("supplier_id", "day", "event_type", "count", "value_sum")


# --- items for the product path -----------------------------------------------------------------


def supplier_items(count: int, rng: np.random.Generator, *, tag: str) -> list[dict[str, Any]]:
    """``count`` suppliers as ``POST /suppliers`` receives them, each with one user."""
    now = datetime.now(UTC)
    plans = list(PLANS)
    items = []
    for i in range(count):
        plan = plans[int(rng.integers(len(plans)))]
        signed = now - timedelta(days=float(rng.uniform(61, 900)))
        items.append(
            {
                "id": str(uuid.uuid4()),
                "business_name": f"Bench {VENDOR_TYPES[i % len(VENDOR_TYPES)]} {tag}-{i}",
                "vendor_type": VENDOR_TYPES[i % len(VENDOR_TYPES)],
                "country": COUNTRIES[i % len(COUNTRIES)],
                "signed_up_at": signed.isoformat(),
                "plan_tier": plan,
                "mrr_minor": PLANS[plan],
                "currency": "GBP",
                "subscription_status": "active",
                "users": [{"email": f"owner-{tag}-{i}@bench.example", "name": "Bench Owner"}],
            }
        )
    return items


def event_items(
    supplier_ids: Sequence[str],
    count: int,
    rng: np.random.Generator,
    *,
    tag: str,
    days: int = 60,
) -> list[dict[str, Any]]:
    """``count`` events as ``POST /events`` receives them: random suppliers, last ``days``."""
    now = datetime.now(UTC)
    types = list(INGEST_EVENT_MIX)
    type_idx = rng.choice(len(types), size=count, p=list(INGEST_EVENT_MIX.values()))
    sup_idx = rng.integers(len(supplier_ids), size=count)
    ages = rng.uniform(60.0, days * 86_400.0, size=count)
    amounts = rng.integers(2_000, 250_000, size=count)
    items = []
    for i in range(count):
        kind = types[int(type_idx[i])]
        properties: dict[str, Any] = {}
        if kind == "payment_received":
            properties = {"amount": int(amounts[i]), "method": "card"}
        elif kind == "client_added":
            properties = {"source": "enquiry_form"}
        items.append(
            {
                "event_id": f"bench-{tag}-{i}",
                "supplier_id": supplier_ids[int(sup_idx[i])],
                "type": kind,
                "occurred_at": (now - timedelta(seconds=float(ages[i]))).isoformat(),
                "properties": properties,
            }
        )
    return items


def event_rows(items: Sequence[dict[str, Any]], *, batch_id: int) -> list[dict[str, Any]]:
    """The ``activity_events`` rows ``store_batch`` would write for ``items`` (for the
    baseline; every type under one code: the baseline measures the insert alone)."""
    rows = []
    for item in items:
        occurred = datetime.fromisoformat(item["occurred_at"])
        rows.append(
            {
                "event_id": item["event_id"],
                "supplier_id": uuid.UUID(item["supplier_id"]),
                "user_id": None,
                "type_code": 1,
                "occurred_at": occurred,
                "value": item["properties"].get("amount"),
                "properties": item["properties"] or None,
                "batch_id": batch_id,
            }
        )
    return rows


# --- the bulk fixture ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SupplierTable:
    """Columns of the seeded suppliers, sorted by id (the primary-key order of both backends)."""

    ids: list[uuid.UUID]
    business_name: list[str]
    vendor_type: list[str]
    country: list[str]
    signed_up_at: list[datetime]
    plan_tier: list[str]
    mrr_minor: list[int]
    subscription_status: list[str]
    created_at: datetime

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """Rows in :data:`SUPPLIER_COLUMNS` order, with Python values."""
        for i, sid in enumerate(self.ids):
            yield (
                sid,
                self.business_name[i],
                self.vendor_type[i],
                self.country[i],
                self.signed_up_at[i],
                self.plan_tier[i],
                self.mrr_minor[i],
                "GBP",
                self.subscription_status[i],
                self.signed_up_at[i],
                None,
                None,
                self.created_at,
            )


def generate_suppliers(count: int, rng: np.random.Generator, *, now: datetime) -> SupplierTable:
    """``count`` suppliers signed up 91-900 days ago; none cancelled, so all are scored."""
    ids = sorted({uuid.UUID(bytes=rng.bytes(16), version=4) for _ in range(count)}, key=str)
    if len(ids) != count:
        raise RuntimeError("duplicate random supplier ids; use another seed")
    plans = list(PLANS)
    plan_idx = rng.integers(len(plans), size=count)
    status_idx = rng.choice(len(STATUSES), size=count, p=list(STATUSES.values()))
    statuses = list(STATUSES)
    age_seconds = rng.uniform(91 * 86_400, 900 * 86_400, size=count).astype(np.int64)
    base = now.replace(microsecond=0)
    return SupplierTable(
        ids=ids,
        business_name=[f"Seeded {VENDOR_TYPES[i % len(VENDOR_TYPES)]} {i}" for i in range(count)],
        vendor_type=[VENDOR_TYPES[i % len(VENDOR_TYPES)] for i in range(count)],
        country=[COUNTRIES[i % len(COUNTRIES)] for i in range(count)],
        signed_up_at=[base - timedelta(seconds=int(s)) for s in age_seconds.tolist()],
        plan_tier=[plans[i] for i in plan_idx.tolist()],
        mrr_minor=[PLANS[plans[i]] for i in plan_idx.tolist()],
        subscription_status=[statuses[i] for i in status_idx.tolist()],
        created_at=base,
    )


@dataclass(frozen=True)
class RollupChunk:
    """Rollup rows of a block of suppliers as aligned arrays, in primary-key order."""

    supplier: npt.NDArray[np.int64]  # index into SupplierTable.ids
    day: npt.NDArray[np.int64]  # 0 = the oldest seeded day
    event_type: npt.NDArray[np.int64]  # index into ROLLUP_TYPE_WEIGHTS
    count: npt.NDArray[np.int64]


def generate_rollups(
    suppliers: int,
    rng: np.random.Generator,
    *,
    chunk: int = 5_000,
    weights: dict[str, float] | None = None,
) -> Iterator[RollupChunk]:
    """Each supplier active on a random 5-60 % of :data:`ROLLUP_DAYS` days, with 1-3 distinct
    event types per active day (weighted by ``weights``, default :data:`ROLLUP_TYPE_WEIGHTS`,
    alphabetical) and 1+Poisson counts.
    """
    weights = weights or ROLLUP_TYPE_WEIGHTS
    log_w = np.log(np.array(list(weights.values())))
    lam = np.array([2.0 if t == "login" else 0.8 for t in weights])
    for start in range(0, suppliers, chunk):
        n = min(chunk, suppliers - start)
        share = rng.uniform(0.05, 0.60, size=n)
        active = rng.random((n, ROLLUP_DAYS)) < share[:, None]
        sup, day = np.nonzero(active)  # sorted by supplier, then day
        per_day = rng.integers(1, 4, size=len(sup))
        # weighted sampling without replacement: Gumbel top-k over the type weights
        keys = log_w[None, :] + rng.gumbel(size=(len(sup), len(log_w)))
        top = np.argsort(-keys, axis=1)[:, :3]
        top.sort(axis=1)  # alphabetical within a (supplier, day): primary-key order
        take = np.arange(3)[None, :] < per_day[:, None]
        event_type = top[take]
        yield RollupChunk(
            supplier=np.repeat(sup, per_day) + start,
            day=np.repeat(day, per_day),
            event_type=event_type,
            count=1 + rng.poisson(lam[event_type]),
        )


@dataclass(frozen=True)
class SeedStats:
    suppliers: int
    rollups: int
    seconds: float
    steps: dict[str, float]
    """Where the seeding time went: generate + insert, rebuild indexes, statistics…"""

    def describe(self) -> str:
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.steps.items())


def _sqlite_ts(value: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime on SQLite (naive, microseconds always present)."""
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def pg_connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """A psycopg connection to the PostgreSQL database of a SQLAlchemy ``url``."""
    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        dbname=parsed.database or "postgres",
        autocommit=autocommit,
    )


class Seeder:
    """Writes the bulk fixture and resets the database, through a synchronous driver."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.backend = parsed.get_backend_name()
        self.url = url
        self.steps: dict[str, float] = {}
        self._sqlite_path = parsed.database or ""

    # -- connections

    def _sqlite(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._sqlite_path)
        conn.execute("PRAGMA synchronous=OFF")  # fixture only; the product's own writes are WAL
        return conn

    def _postgres(self, *, autocommit: bool = False) -> psycopg.Connection[Any]:
        return pg_connect(self.url, autocommit=autocommit)

    # -- writing

    def write(
        self,
        suppliers: SupplierTable,
        chunks: Iterator[RollupChunk],
        today: date,
        *,
        fresh: bool = False,
        types: Sequence[str] | None = None,
    ) -> int:
        """Write ``suppliers`` and their rollups; returns the number of rollup rows.

        ``fresh`` says the database was just reset, so the writer may empty the two tables
        again itself where that makes loading cheaper (PostgreSQL ``COPY ... FREEZE``).
        """
        days = [
            (today - timedelta(days=ROLLUP_DAYS - 1 - d)).isoformat() for d in range(ROLLUP_DAYS)
        ]
        types = list(types or ROLLUP_TYPE_WEIGHTS)
        self.steps = {}
        if self.backend == "sqlite":
            return self._write_sqlite(suppliers, chunks, days, types)
        return self._write_postgres(suppliers, chunks, days, types, fresh=fresh)

    def _write_sqlite(
        self,
        suppliers: SupplierTable,
        chunks: Iterator[RollupChunk],
        days: list[str],
        types: list[str],
    ) -> int:
        ids = [sid.hex for sid in suppliers.ids]  # Uuid on SQLite: 32 hex digits, no dashes
        rows = 0
        with self._sqlite() as conn:
            # Secondary indexes are cheaper to build once than to maintain row by row; they
            # are recreated below from their own DDL, so the schema ends up unchanged.
            indexes = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = 'daily_rollups' AND sql IS NOT NULL"
            ).fetchall()
            for name, _ in indexes:
                conn.execute(f'DROP INDEX "{name}"')
            started = time.perf_counter()
            conn.executemany(
                f"INSERT INTO suppliers ({', '.join(SUPPLIER_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(SUPPLIER_COLUMNS))})",
                (
                    (
                        sid.hex,
                        *row[1:4],
                        _sqlite_ts(row[4]),
                        *row[5:9],
                        _sqlite_ts(row[9]),
                        None,
                        None,
                        _sqlite_ts(row[12]),
                    )
                    for sid, row in zip(suppliers.ids, suppliers.rows(), strict=True)
                ),
            )
            for chunk in chunks:
                conn.executemany(
                    f"INSERT INTO daily_rollups ({', '.join(ROLLUP_COLUMNS)}) VALUES (?,?,?,?,?)",
                    zip(
                        map(ids.__getitem__, chunk.supplier.tolist()),
                        map(days.__getitem__, chunk.day.tolist()),
                        map(types.__getitem__, chunk.event_type.tolist()),
                        chunk.count.tolist(),
                        repeat(0),
                    ),
                )
                rows += len(chunk.supplier)
            self._step("generate + insert", started)
            for _, sql in indexes:
                conn.execute(sql)
            self._step("rebuild indexes", started)
        with self._sqlite() as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._step("commit + checkpoint", started)
        return rows

    def _step(self, name: str, started: float) -> None:
        """Record ``name`` as the time since ``started`` not yet given to earlier steps."""
        self.steps[name] = time.perf_counter() - started - sum(self.steps.values())

    def _write_postgres(
        self,
        suppliers: SupplierTable,
        chunks: Iterator[RollupChunk],
        days: list[str],
        types: list[str],
        *,
        fresh: bool,
    ) -> int:
        ids = [str(sid) for sid in suppliers.ids]
        rows = 0
        freeze = ""
        with self._postgres() as conn:
            # The fixture is consistent by construction: skip the per-row foreign-key triggers.
            conn.execute("SET session_replication_role = replica")
            # Secondary indexes are cheaper to build once than to maintain row by row; they are
            # recreated from their own definition before commit, so the schema is unchanged.
            indexes = conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'daily_rollups' "
                "AND indexname <> 'pk_daily_rollups'"
            ).fetchall()
            for name, _ in indexes:
                conn.execute(f'DROP INDEX "{name}"')
            if fresh:
                # Emptied in this transaction, the tables can take COPY ... FREEZE: rows land
                # frozen and all-visible, as they would be once autovacuum had been through.
                conn.execute("TRUNCATE suppliers, daily_rollups CASCADE")
                freeze = " WITH (FREEZE)"
            started = time.perf_counter()
            with conn.cursor() as cur:
                with cur.copy(
                    f"COPY suppliers ({', '.join(SUPPLIER_COLUMNS)}) FROM STDIN{freeze}"
                ) as cp:
                    for row in suppliers.rows():
                        cp.write_row(row)
                with cur.copy(
                    f"COPY daily_rollups ({', '.join(ROLLUP_COLUMNS)}) FROM STDIN{freeze}"
                ) as cp:
                    for chunk in chunks:
                        cp.write(
                            "".join(
                                f"{s}\t{d}\t{t}\t{c}\t0\n"
                                for s, d, t, c in zip(
                                    map(ids.__getitem__, chunk.supplier.tolist()),
                                    map(days.__getitem__, chunk.day.tolist()),
                                    map(types.__getitem__, chunk.event_type.tolist()),
                                    chunk.count.tolist(),
                                    strict=True,
                                )
                            )
                        )
                        rows += len(chunk.supplier)
            self._step("generate + COPY", started)
            for _, definition in indexes:
                conn.execute(definition)
            self._step("rebuild indexes", started)
            conn.commit()
        with self._postgres(autocommit=True) as conn:
            # Planner statistics, as autovacuum would gather them soon after a bulk load.
            conn.execute("ANALYZE suppliers")
            conn.execute("ANALYZE daily_rollups")
        self._step("commit + ANALYZE", started)
        return rows

    def seed(
        self,
        count: int,
        *,
        seed: int,
        today: date,
        now: datetime,
        weights: dict[str, float] | None = None,
    ) -> tuple[SeedStats, list[uuid.UUID]]:
        """Seed ``count`` suppliers with rollups into a fresh or just-reset database.

        On PostgreSQL this first empties ``suppliers`` and ``daily_rollups`` (and, by cascade,
        every table referencing suppliers) inside the loading transaction, so COPY can FREEZE;
        anything stored before is gone. Returns the timing and the supplier ids.
        """
        started = time.perf_counter()
        rng = np.random.default_rng(seed)
        suppliers = generate_suppliers(count, rng, now=now)
        chunks = generate_rollups(count, rng, weights=weights)
        rows = self.write(suppliers, chunks, today, fresh=True, types=list(weights or {}) or None)
        steps = {"generate suppliers": 0.0, **self.steps}
        total = time.perf_counter() - started
        steps["generate suppliers"] = total - sum(self.steps.values())
        return SeedStats(count, rows, total, steps), suppliers.ids

    # -- resetting

    def reset(self) -> None:
        """Empty every table of the schema (the migration version stays)."""
        tables = [t.name for t in reversed(metadata.sorted_tables)]
        if self.backend == "sqlite":
            with self._sqlite() as conn:
                for table in tables:
                    conn.execute(f"DELETE FROM {table}")
            with self._sqlite() as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            with self._postgres(autocommit=True) as conn:
                conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")

    # -- proving the encoding

    def raw_supplier(self, supplier_id: uuid.UUID) -> tuple[Any, ...]:
        """The stored (id, signed_up_at, created_at) of one supplier, as the driver sees them.

        On PostgreSQL the values' SQL type names come back instead, since the driver decodes.
        """
        if self.backend == "sqlite":
            with self._sqlite() as conn:
                row = conn.execute(
                    "SELECT id, signed_up_at, created_at FROM suppliers WHERE id = ?",
                    (supplier_id.hex,),
                ).fetchone()
        else:
            with self._postgres() as conn:
                row = conn.execute(
                    "SELECT pg_typeof(id)::text, pg_typeof(signed_up_at)::text, "
                    "pg_typeof(created_at)::text FROM suppliers WHERE id = %s",
                    (supplier_id,),
                ).fetchone()
        if row is None:
            raise RuntimeError(f"supplier {supplier_id} written by the ORM is not in the table")
        return tuple(row)


async def check_encoding(ctx: AppContext, seeder: Seeder, *, today: date) -> None:
    """Prove the raw fixture encoding matches the ORM's, both ways; raise if it does not.

    1. A supplier and a rollup written through the ORM are read back raw and compared with
       what the seeder would write (SQLite: 32-hex UUIDs, ``YYYY-MM-DD HH:MM:SS.ffffff``
       timestamps; PostgreSQL: ``uuid`` and ``timestamp with time zone`` columns).
    2. A supplier and a rollup written by the seeder are read back through the ORM and must
       equal the values they were generated from.
    """
    now = datetime.now(UTC).replace(microsecond=123456)
    orm_id = uuid.uuid4()
    async with ctx.db.transaction() as session:
        session.add(
            Supplier(
                id=orm_id,
                business_name="Encoding probe",
                vendor_type="florist",
                country="GB",
                signed_up_at=now,
                plan_tier="free",
                mrr_minor=0,
                currency="GBP",
                subscription_status="active",
                subscription_started_at=now,
                created_at=now,
            )
        )
    raw = seeder.raw_supplier(orm_id)
    if seeder.backend == "sqlite":
        expected: tuple[Any, ...] = (orm_id.hex, _sqlite_ts(now), _sqlite_ts(now))
    else:
        expected = ("uuid", "timestamp with time zone", "timestamp with time zone")
    if raw != expected:
        raise RuntimeError(f"ORM-written supplier stored as {raw!r}, fixture assumes {expected!r}")

    rng = np.random.default_rng(0)
    table = generate_suppliers(1, rng, now=now)
    chunk = RollupChunk(
        supplier=np.array([0]),
        day=np.array([ROLLUP_DAYS - 1]),
        event_type=np.array([0]),
        count=np.array([7]),
    )
    seeder.write(table, iter([chunk]), today)
    async with ctx.db.sessions() as session:
        got = await session.get(Supplier, table.ids[0])
        rollup = (
            await session.scalars(
                select(DailyRollup).where(DailyRollup.supplier_id == table.ids[0])
            )
        ).one()
    if got is None or (got.signed_up_at, got.created_at, got.subscription_status) != (
        table.signed_up_at[0],
        table.created_at,
        table.subscription_status[0],
    ):
        raise RuntimeError(f"fixture-written supplier reads back through the ORM as {got!r}")
    if (rollup.day, rollup.event_type, rollup.count) != (
        today,
        next(iter(ROLLUP_TYPE_WEIGHTS)),
        7,
    ):
        raise RuntimeError(f"fixture-written rollup reads back as {rollup.day!r}/{rollup.count!r}")
    async with ctx.db.transaction() as session:
        await session.execute(delete(Supplier).where(Supplier.id.in_([orm_id, table.ids[0]])))


DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


class BenchDatabase:
    """A fresh, migrated database for one backend, removed by :meth:`drop`."""

    def __init__(self, backend: str, postgres_url: str) -> None:
        self.backend = backend
        self._postgres_url = postgres_url
        self._tmpdir: Path | None = None
        self._pg_name: str | None = None
        if backend == "sqlite":
            self._tmpdir = Path(tempfile.mkdtemp(prefix="wedsync_bench_"))
            self.url = f"sqlite+aiosqlite:///{self._tmpdir / 'bench.db'}"
        else:
            self._pg_name = f"wedsync_bench_{secrets.token_hex(6)}"
            try:
                with pg_connect(postgres_url, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{self._pg_name}"')
            except Exception as exc:
                raise RuntimeError(
                    f"PostgreSQL not usable at {make_url(postgres_url).host}: {exc}"
                ) from exc
            self.url = (
                make_url(postgres_url)
                .set(drivername="postgresql+asyncpg", database=self._pg_name)
                .render_as_string(hide_password=False)
            )
        migrate.upgrade(self.url)

    def drop(self) -> None:
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
        if self._pg_name is not None:
            with pg_connect(self._postgres_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')
