"""Import throughput and bytes per stored event: ``import events`` of a history file,
beside the raw driver write of the same rows.

Usage: ``.venv/bin/python benchmarks/event_import.py [--backend sqlite|postgresql|both]
[--events 1000000] [--suppliers 7000] [--batch-size 5000] [--phases] [--history]``
(``--history``: as ``import events --history``, batches of 50,000 and, on PostgreSQL, the
new months' per-supplier index compacted, timed with the import); the issue's second
size is ``--events 10000000`` (10 M: the file is generated and the baseline parsed in
chunks, so memory stays bounded; expect tens of minutes per backend).

For each backend, on a fresh migrated database holding ``--suppliers`` suppliers: a CSV of
N events (eight types, a quarter with properties, a tenth with an amount, spread over six
months two years ago) is imported through the command's own code (``import_cli.run_import``
with the event writer: file reading, per-line validation, storage, rollups), then the same
file again (every line a duplicate). Events/s exclude the final rescoring, shown apart.
Bytes per event: the growth of ``activity_events`` (table and indexes:
``pg_total_relation_size``; SQLite ``dbstat``) over the events stored. Baseline in the same
run: the same rows written by the driver alone (``COPY`` on PostgreSQL, ``executemany`` on
SQLite) into a scratch copy of the table without indexes, parsed beforehand in chunks (not
timed). ``--phases`` prints where each import's time goes. Goals (issue 14): >= 50,000
events/s on PostgreSQL, >= 20,000 on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import functools
import itertools
import json
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine.url import make_url

from bench_cli import add_backend_option, chosen_backends
from bench_data import DEFAULT_POSTGRES_URL, BenchDatabase, pg_connect, supplier_items
from bench_timing import (
    COMMIT,
    ImportTiming,
    Phase,
    PhaseTimes,
    breakdown_rows,
    fmt_rate,
    fmt_s,
)
from bench_timing import timed_import as shared_timed_import
from wedsync_success import import_cli, pipeline
from wedsync_success.activity import repository as activity_repository
from wedsync_success.activity import service as activity_service
from wedsync_success.activity.importer import read_batches
from wedsync_success.activity.schemas import EventIn
from wedsync_success.activity.validation import parse_batch
from wedsync_success.config import Settings
from wedsync_success.context import build_context
from wedsync_success.kit.batch import validate_each
from wedsync_success.kit.files import FileBatch, count_lines
from wedsync_success.suppliers.service import upsert_batch

console = Console()
GOALS = {"sqlite": 20_000.0, "postgresql": 50_000.0}
TYPES = (
    "login",
    "page_viewed",
    "post_created",
    "reply_sent",
    "file_uploaded",
    "invite_sent",
    "payment_received",
    "export_run",
)
SHARES = (0.35, 0.25, 0.12, 0.1, 0.06, 0.04, 0.05, 0.03)
START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 182 * 86_400


HISTORY_CHUNK = 250_000
"""Events generated at a time: a 10 M-line file is written in bounded memory."""


def write_history(path: Path, supplier_ids: list[str], count: int) -> None:
    """``count`` events as a CSV history export, in time order (deterministic for a given
    supplier list and count). Generated a chunk at a time, each chunk covering its share of
    the six months, so memory stays bounded whatever ``count``."""
    rng = np.random.default_rng(14)
    chunks = max(1, -(-count // HISTORY_CHUNK))
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("event_id", "supplier_id", "type", "occurred_at", "properties"))
        for chunk in range(chunks):
            first, last = chunk * count // chunks, (chunk + 1) * count // chunks
            size = last - first
            kinds = rng.choice(len(TYPES), size=size, p=SHARES)
            owners = rng.integers(len(supplier_ids), size=size)
            low, high = chunk * SPAN_SECONDS // chunks, (chunk + 1) * SPAN_SECONDS // chunks
            seconds = np.sort(rng.integers(low, high, size=size))
            amounts = rng.integers(500, 90_000, size=size)
            writer.writerows(
                _history_row(first + i, TYPES[kind], supplier_ids[owner], int(at), int(amount))
                for i, (kind, owner, at, amount) in enumerate(
                    zip(
                        kinds.tolist(),
                        owners.tolist(),
                        seconds.tolist(),
                        amounts.tolist(),
                        strict=True,
                    )
                )
            )


def _history_row(n: int, kind: str, supplier: str, second: int, amount: int) -> tuple[str, ...]:
    props = ""
    if kind == "payment_received":
        props = json.dumps({"amount": amount, "method": "card"})
    elif kind == "post_created" and n % 2:
        props = json.dumps({"channel": "web"})
    at = START + timedelta(seconds=second)
    return (f"h-{n:09d}", supplier, kind, at.isoformat(), props)


async def seed_suppliers(url: str, count: int) -> list[str]:
    ctx = build_context(Settings(database_url=url))
    items = supplier_items(count, np.random.default_rng(7), tag="ev")
    try:
        for start in range(0, count, 1000):
            async with ctx.db.transaction() as session:
                await upsert_batch(
                    session=session, items=items[start : start + 1000], now=ctx.clock()
                )
    finally:
        await ctx.close()
    return [item["id"] for item in items]


def events_bytes(url: str) -> int:
    """Bytes ``activity_events`` takes, table and indexes."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(make_url(url).database or "")
        try:
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_schema WHERE tbl_name = 'activity_events'"
                )
            ]
            marks = ",".join("?" * len(names))
            row = conn.execute(
                f"SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN ({marks})", names
            ).fetchone()
            return int(row[0])
        finally:
            conn.close()
    with pg_connect(url) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "WHERE c.relname = 'activity_events' OR c.oid IN "
            "(SELECT inhrelid FROM pg_inherits WHERE inhparent = 'activity_events'::regclass)"
        ).fetchone()
        assert row is not None
        return int(row[0])


PHASES = [
    Phase(pipeline, "store_batch", "store a batch"),
    Phase(activity_service, "parse_batch", "validate (fast path, schema for the rest)", 1),
    Phase(activity_repository, "existing_supplier_ids", "check the suppliers exist", 1),
    Phase(activity_service, "lock_suppliers", "lock the suppliers", 1),
    Phase(activity_repository, "store_events", "insert / merge the events, roll them up", 1),
    Phase(activity_repository, "type_codes", "event-type dictionary", 2),
    Phase(activity_repository, "insert_event_columns", "insert (SQLite)", 2),
    Phase(activity_repository, "roll_up_batch", "roll up (SQLite: daily, totals)", 2),
    Phase(pipeline.feature_store, "apply_batch", "feature store"),
    Phase(pipeline, "announce_payment_failures", "outbox (payment failures)"),
    Phase(pipeline, "rescore_touched", "rescore"),
]
"""Where an import's time goes (``--phases``): reading the file and the commit are timed
apart (``READ``, ``COMMIT``)."""
READ = "read and parse the file (CSV rows to items)"


def _timed_batches(batches: Iterator[FileBatch], times: PhaseTimes) -> Iterator[FileBatch]:
    """``batches``, adding the time spent reading each one to ``times`` under ``READ``."""
    while True:
        started = time.perf_counter()
        batch = next(batches, None)
        times.add(READ, time.perf_counter() - started)
        if batch is None:
            return
        yield batch


async def timed_import(
    url: str,
    path: Path,
    batch_size: int,
    times: PhaseTimes,
    *,
    phases: bool = False,
    history: bool = False,
) -> ImportTiming:
    """One import of ``path`` (the shared ``bench_timing.timed_import``); the time of each
    of :data:`PHASES`, of reading the file and of the commits goes into ``times`` (only the
    rescoring's unless ``phases``). ``history`` on PostgreSQL: then the per-supplier index
    of the months it created is compacted, as ``import events --history`` does, and that
    time counts in the import's."""
    compacting = history and not url.startswith("sqlite")
    ctx = build_context(Settings(database_url=url))
    try:
        before = await import_cli.event_partitions(ctx) if compacting else set()
    finally:
        await ctx.close()
    timing = await _timed_import(url, path, batch_size, times, phases=phases)
    if not compacting:
        return timing
    ctx = build_context(Settings(database_url=url))
    try:
        started = time.perf_counter()
        report = import_cli.ImportReport()
        await import_cli.compact_new_partitions(ctx, report, before=before)
        took = time.perf_counter() - started
    finally:
        await ctx.close()
    if report.uncompacted:
        raise RuntimeError(f"compacting failed: {report.uncompacted}")
    times.add(COMPACT, took)
    times.wall += took
    return dataclasses.replace(timing, seconds=timing.seconds + took)


COMPACT = "compact the per-supplier index of the new months (--history, PostgreSQL)"


async def _timed_import(
    url: str, path: Path, batch_size: int, times: PhaseTimes, *, phases: bool
) -> ImportTiming:
    return await shared_timed_import(
        url,
        batches=_timed_batches(read_batches(path, batch_size=batch_size), times),
        writer=functools.partial(import_cli.event_writer, max_batch_size=batch_size),
        lines=count_lines(path),
        times=times,
        phases=PHASES if phases else (),
        commits=True,
        batches_per_commit=import_cli.event_batches_per_commit(
            "sqlite" if url.startswith("sqlite") else "postgresql", batch_size
        ),
    )


RAW_CHUNK = 500_000
"""Rows parsed at a time for the baseline: 10 M rows at once would not fit in memory."""


def raw_rows(path: Path, postgres: bool) -> Iterator[list[tuple[Any, ...]]]:
    """The file's events as the driver takes ``activity_events`` rows (parsed beforehand,
    each type under its index in :data:`TYPES` as its code, batch 1), in chunks."""
    code = {name: n + 1 for n, name in enumerate(TYPES)}
    rows: list[tuple[Any, ...]] = []
    with path.open(newline="") as fh:
        for event_id, supplier, kind, at, props in csv.reader(fh):
            if event_id == "event_id":
                continue
            moment = datetime.fromisoformat(at)
            amount = json.loads(props).get("amount") if props else None
            if postgres:
                rows.append(
                    (
                        event_id,
                        supplier,
                        code[kind],
                        moment,
                        amount,
                        props or None,
                        1,
                    )
                )
            else:
                rows.append(
                    (
                        event_id,
                        uuid.UUID(supplier).hex,
                        code[kind],
                        moment.strftime("%Y-%m-%d %H:%M:%S.%f"),
                        amount,
                        props or None,
                        1,
                    )
                )
            if len(rows) == RAW_CHUNK:
                yield rows
                rows = []
    if rows:
        yield rows


COLUMNS = "event_id, supplier_id, type_code, occurred_at, value, properties, batch_id"


def raw_baseline(url: str, path: Path) -> tuple[float, int]:
    """Seconds for the driver alone to write the file's rows into a scratch table (the
    shape of ``activity_events``, no index, no key), rows; parsing the file is not timed."""
    postgres = not url.startswith("sqlite")
    seconds, count = 0.0, 0
    if not postgres:
        conn = sqlite3.connect(make_url(url).database or "")
        conn.execute("CREATE TABLE raw_events AS SELECT * FROM activity_events WHERE 0")
        sql = f"INSERT INTO raw_events ({COLUMNS}) VALUES ({','.join('?' * 7)})"
        for rows in raw_rows(path, postgres):
            started = time.perf_counter()
            conn.executemany(sql, rows)
            seconds += time.perf_counter() - started
            count += len(rows)
        started = time.perf_counter()
        conn.commit()
        seconds += time.perf_counter() - started
        conn.close()
        return seconds, count
    with pg_connect(url) as conn:
        conn.execute("CREATE TABLE raw_events AS SELECT * FROM activity_events WHERE false")
        with conn.cursor().copy(f"COPY raw_events ({COLUMNS}) FROM STDIN") as copy:
            for rows in raw_rows(path, postgres):
                started = time.perf_counter()
                for row in rows:
                    copy.write_row(row)
                seconds += time.perf_counter() - started
                count += len(rows)
            started = time.perf_counter()
        conn.commit()
        return seconds + time.perf_counter() - started, count


VALIDATION_LINES = 200_000
"""Lines of the file validated alone, both ways, for the validation rows."""


def validation_seconds(path: Path, batch_size: int) -> tuple[float, float, int]:
    """Seconds to validate the file's first :data:`VALIDATION_LINES` lines with the event
    schema for every line (as before the fast path) and with :func:`parse_batch` (the fast
    path, the schema for the rest), in the same minute; and the lines."""
    batches = [
        b.items
        for b in itertools.islice(
            read_batches(path, batch_size=batch_size), max(VALIDATION_LINES // batch_size, 1)
        )
    ]
    now = datetime.now(UTC)
    started = time.perf_counter()
    for items in batches:
        validate_each(EventIn, items, key_field="event_id")
    schema = time.perf_counter() - started
    started = time.perf_counter()
    for items in batches:
        parse_batch(items, now=now)
    return schema, time.perf_counter() - started, sum(map(len, batches))


async def one_backend(
    backend: str,
    events: int,
    suppliers: int,
    batch_size: int,
    folder: Path,
    phases: bool,
    as_history: bool = False,
) -> list[list[str]]:
    db = BenchDatabase(backend, DEFAULT_POSTGRES_URL)
    try:
        console.print(f"[dim]{backend}: {suppliers:,} suppliers…[/]")
        ids = await seed_suppliers(db.url, suppliers)
        history_file = folder / f"history-{backend}.csv"
        write_history(history_file, ids, events)
        empty = events_bytes(db.url)
        goal = GOALS[backend]
        rows = []
        for label in ("first import", "same file again (all duplicates)"):
            console.print(f"[dim]{backend}: {label}…[/]")
            times = PhaseTimes()
            timing = await timed_import(
                db.url, history_file, batch_size, times, phases=phases, history=as_history
            )
            seconds, rescore, counts = timing.seconds, timing.rescore, timing.counts
            if phases:
                print_phases(f"{backend}, {label}: where the time goes", times)
            rate = events / seconds
            cell = fmt_rate(rate, "events")
            per_event = (events_bytes(db.url) - empty) / max(counts.get("accepted", 0), 1)
            rows.append(
                [
                    backend,
                    label,
                    ", ".join(f"{v:,} {k}" for k, v in counts.items()),
                    fmt_s(seconds),
                    f"[green]{cell}[/]" if rate >= goal else f"[red]{cell}[/]",
                    fmt_s(rescore),
                    f"{per_event:,.0f}" if counts.get("accepted") else "–",
                ]
            )
        raw, count = raw_baseline(db.url, history_file)
        rows.append(
            [
                backend,
                "baseline: the driver alone ("
                + ("COPY" if backend != "sqlite" else "executemany")
                + ", no index)",
                f"{count:,} rows",
                fmt_s(raw),
                fmt_rate(count / raw, "rows"),
                "–",
                "–",
            ]
        )
        schema, fast, lines = validation_seconds(history_file, batch_size)
        for label, took in (
            ("validation alone: the schema for every line (before)", schema),
            ("validation alone: fast path, schema for the rest (now)", fast),
        ):
            rate = fmt_rate(lines / took, "lines")
            rows.append([backend, label, f"{lines:,} lines", fmt_s(took), rate, "–", "–"])
        return rows
    finally:
        db.drop()


def print_phases(title: str, times: PhaseTimes) -> None:
    table = Table("phase", "seconds", "share", title=title)
    extra = (READ, COMMIT, COMPACT) if COMPACT in times.seconds else (READ, COMMIT)
    for label, depth, seconds in breakdown_rows(PHASES[:-1], times, extra=extra):
        share = seconds / times.wall if times.wall else 0.0
        table.add_row("  " * depth + label, fmt_s(seconds), f"{share:.0%}")
    console.print(table)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_backend_option(parser)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--suppliers", type=int, default=7000)
    parser.add_argument(
        "--batch-size", type=int, help="events per batch [default: 5,000; --history 50,000]"
    )
    parser.add_argument(
        "--history",
        action="store_true",
        help="import as `import events --history` does (batches of 50,000 events)",
    )
    parser.add_argument(
        "--phases", action="store_true", help="also print where each import's time goes"
    )
    args = parser.parse_args()
    if args.batch_size is None:
        args.batch_size = import_cli.HISTORY_BATCH_SIZE if args.history else 5000
    backends = chosen_backends(args.backend)
    table = Table(
        "backend",
        "import",
        "lines",
        "time",
        "events/s (goal: SQLite 20,000, PostgreSQL 50,000)",
        "then rescoring",
        "bytes/event",
        title=f"import events: {args.events:,} lines, batches of {args.batch_size:,}",
    )
    with tempfile.TemporaryDirectory(prefix="wedsync_event_import_") as tmp:
        for backend in backends:
            for row in await one_backend(
                backend,
                args.events,
                args.suppliers,
                args.batch_size,
                Path(tmp),
                args.phases,
                args.history,
            ):
                table.add_row(*row)
    console.print(table)
    console.print(
        "events/s counts the file's lines over the import's time without the final rescoring "
        "(shown apart); bytes/event: activity_events' table and indexes over the events stored."
    )


if __name__ == "__main__":
    asyncio.run(main())
