"""Import throughput: ``import suppliers`` and ``import subscriptions`` of a billing export,
beside the raw insert.

Usage: ``.venv/bin/python benchmarks/imports.py [--backend sqlite|postgresql|both]
[--suppliers 100000] [--batch-size 5000] [--period-batch-size 2000]``

For each backend, on a fresh database: a CSV of N suppliers as a billing or CRM export
has them (external id, name, type, country, signup, plan, MRR, currency, one contact) is
imported through the command's own code (``import_cli.run_import`` with the supplier
writer: file reading, validation, external-id matching, the upsert of suppliers, users and
search words, churn repricing), then imported again (every line an update, nothing
changed), then a file updating one field (MRR) of every supplier, then the subscription
history: five billed periods per supplier (``import subscriptions``, in its own batches:
``--period-batch-size``, by default the command's), twice. Rows/s of each, with the
final rescoring of the touched suppliers (once per import) shown apart, for the supplier
imports with the delivery of the success events it raised (they raise none of their own:
every event is a score the rescoring changed). Baseline in the
same run: the same supplier rows written by the driver alone (``executemany`` on SQLite,
``COPY`` on PostgreSQL) into a scratch copy of the table, no validation, users or words.
Goal: >= 20,000 rows/s.

``--against REF`` (e.g. ``main``) also times the three supplier imports with REF's code in
the same run: REF's ``src/`` is extracted with ``git archive`` and this script runs again
with it first on the path (``--suppliers-only --emit-json``), just before this code on the
same backend, so both see the same machine; the load average (``uptime``) is printed beside
them.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy.engine.url import make_url

from bench_cli import add_backend_option, chosen_backends
from bench_data import (
    COUNTRIES,
    DEFAULT_POSTGRES_URL,
    PLANS,
    VENDOR_TYPES,
    BenchDatabase,
    pg_connect,
)
from bench_timing import ImportTiming, baseline_row, import_row, timed_import
from wedsync_success import import_cli
from wedsync_success.kit.files import count_lines
from wedsync_success.suppliers.importer import read_batches, read_period_batches

console = Console()
GOAL = 20_000.0
HEADER = (
    "external_id",
    "business_name",
    "vendor_type",
    "country",
    "signed_up_at",
    "plan_tier",
    "mrr_minor",
    "currency",
    "user_email",
    "user_name",
)


def write_export(path: Path, count: int) -> None:
    """``count`` suppliers as a CSV export (deterministic: the same file twice is the same)."""
    now = datetime(2026, 12, 1, tzinfo=UTC)
    plans = list(PLANS)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for i in range(count):
            plan = plans[i % len(plans)]
            writer.writerow(
                (
                    f"cus_{i:07d}",
                    f"Bench {VENDOR_TYPES[i % len(VENDOR_TYPES)]} {i}",
                    VENDOR_TYPES[i % len(VENDOR_TYPES)],
                    COUNTRIES[i % len(COUNTRIES)],
                    (now - timedelta(days=61 + i % 800)).isoformat(),
                    plan,
                    PLANS[plan],
                    "GBP",
                    f"owner-{i}@bench.example",
                    "Bench Owner",
                )
            )


PERIODS_EACH = 5
"""Billed periods per supplier in the history file: a plan, four renewals, then an upgrade."""


def write_periods(path: Path, count: int) -> None:
    """``PERIODS_EACH`` consecutive periods per supplier (the last one open)."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ("supplier_external_id", "plan", "start_date", "end_date", "mrr_minor", "currency")
        )
        for i in range(count):
            start = datetime(2022, 1, 1, tzinfo=UTC) + timedelta(days=i % 300)
            for k in range(PERIODS_EACH):
                begin = start + timedelta(days=90 * k)
                end = begin + timedelta(days=90)
                last = k == PERIODS_EACH - 1
                writer.writerow(
                    (
                        f"cus_{i:07d}",
                        "professional" if last else "starter",
                        begin.date().isoformat(),
                        "" if last else end.date().isoformat(),
                        4900 if last else 1900,
                        "GBP",
                    )
                )


def write_jsonl_update(path: Path, count: int) -> None:
    """One field (MRR) for every supplier: JSONL lets a line carry only what changed."""
    with path.open("w") as fh:
        for i in range(count):
            fh.write(json.dumps({"external_id": f"cus_{i:07d}", "mrr_minor": 5000 + i % 7}) + "\n")


async def timed(url: str, path: Path, batch_size: int, *, periods: bool = False) -> ImportTiming:
    """One import of suppliers (or, with ``periods``, of subscription periods) of ``path``."""
    read = read_period_batches if periods else read_batches
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    return await timed_import(
        url,
        batches=read(path, batch_size=batch_size),
        writer=import_cli.period_writer if periods else import_cli.supplier_writer,
        lines=count_lines(path),
        # As the command groups them (``import suppliers``: several batches a commit on SQLite).
        batches_per_commit=1
        if periods
        else import_cli.supplier_batches_per_commit(dialect, batch_size),
        events_with_rescoring=not periods,
    )


def raw_baseline(url: str, count: int) -> float:
    """Seconds for the driver alone to write ``count`` supplier rows into a scratch table."""
    now = datetime(2026, 12, 1, tzinfo=UTC)
    rows = [
        (
            str(uuid.uuid4()) if "postgresql" in url else uuid.uuid4().hex,
            f"cus_{i:07d}",
            f"Bench {i}",
            VENDOR_TYPES[i % len(VENDOR_TYPES)],
            COUNTRIES[i % len(COUNTRIES)],
            (now - timedelta(days=61 + i % 800)).isoformat(),
            "starter",
            1900,
            "GBP",
            "active",
            (now - timedelta(days=61 + i % 800)).isoformat(),
            now.isoformat(),
        )
        for i in range(count)
    ]
    columns = (
        "id, external_id, business_name, vendor_type, country, signed_up_at, plan_tier, "
        "mrr_minor, currency, subscription_status, subscription_started_at, created_at"
    )
    if url.startswith("sqlite"):
        conn = sqlite3.connect(make_url(url).database or "")
        conn.execute("CREATE TABLE raw_suppliers AS SELECT * FROM suppliers WHERE 0")
        started = time.perf_counter()
        conn.executemany(
            f"INSERT INTO raw_suppliers ({columns}) VALUES ({','.join('?' * 12)})", rows
        )
        conn.commit()
        seconds = time.perf_counter() - started
        conn.close()
        return seconds
    with pg_connect(url) as conn:
        conn.execute("CREATE TABLE raw_suppliers (LIKE suppliers INCLUDING ALL)")
        started = time.perf_counter()
        with conn.cursor().copy(f"COPY raw_suppliers ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        return time.perf_counter() - started


SUPPLIER_IMPORTS = (
    "first import (all created)",
    "same file again (all updated, unchanged)",
    "JSONL: one field (MRR) per supplier",
)


async def one_backend(
    backend: str,
    count: int,
    batch_size: int,
    period_batch_size: int,
    folder: Path,
    *,
    suppliers_only: bool = False,
    periods_only: bool = False,
    rates: dict[str, float] | None = None,
) -> list[list[str]]:
    """The figures of one backend as table rows; ``rates`` (given) receives the supplier
    imports' rows/s by label. ``periods_only``: the suppliers are imported once, untimed,
    and only the subscription imports are measured."""
    db = BenchDatabase(backend, DEFAULT_POSTGRES_URL)
    try:
        export = folder / "suppliers.csv"
        write_export(export, count)
        update = folder / "mrr.jsonl"
        write_jsonl_update(update, count)
        # What the files and the previous backend wrote reaches the disk now, not in the
        # middle of this backend's imports (PostgreSQL's first import after SQLite's ran
        # 15-20 % slower while the kernel wrote SQLite's pages back).
        os.sync()
        rows = []
        if periods_only:
            console.print(f"[dim]{backend}: loading the suppliers (untimed)…[/]")
            await timed(db.url, export, batch_size)
        paths = (export, export, update)
        imports = [] if periods_only else list(zip(SUPPLIER_IMPORTS, paths, strict=True))
        for label, path in imports:
            console.print(f"[dim]{backend}: {label}…[/]")
            timing = await timed(db.url, path, batch_size)
            rows.append(import_row(backend, label, timing, lines=count, unit="rows", goal=GOAL))
            if rates is not None:
                rates[label] = count / timing.seconds
        if suppliers_only:
            return rows
        history = folder / "periods.csv"
        write_periods(history, count)
        for again in ("", ", again (all updated)"):
            console.print(f"[dim]{backend}: subscription history{again}…[/]")
            timing = await timed(db.url, history, period_batch_size, periods=True)
            label = (
                f"import subscriptions ({PERIODS_EACH} periods a supplier, batches of "
                f"{period_batch_size:,}){again}"
            )
            lines = count * PERIODS_EACH
            rows.append(import_row(backend, label, timing, lines=lines, unit="rows", goal=GOAL))
        rows.append(baseline_row(backend, raw_baseline(db.url, count), count))
        return rows
    finally:
        db.drop()


def load_average() -> str:
    """The machine's load averages (1, 5, 15 minutes), as ``uptime`` prints them."""
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def ref_rates(ref: str, backend: str, args: argparse.Namespace, folder: Path) -> dict[str, float]:
    """The supplier imports' rows/s with ``ref``'s code: its ``src/`` extracted from git,
    this script run on it in a subprocess."""
    code = folder / f"src-{ref.replace('/', '_')}"
    if not code.exists():
        repo = Path(__file__).resolve().parent.parent
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", ref, "src"],
            check=True,
            capture_output=True,
        ).stdout
        code.mkdir()
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(code, filter="data")
    out = folder / f"rates-{backend}.json"
    here = Path(__file__).resolve().parent
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(code / "src"), str(here)])}
    subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--backend",
            backend,
            "--suppliers",
            str(args.suppliers),
            *(["--batch-size", str(args.given_batch_size)] if args.given_batch_size else []),
            "--suppliers-only",
            "--emit-json",
            str(out),
        ],
        check=True,
        env=env,
    )
    rates: dict[str, float] = json.loads(out.read_text())
    return rates


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_backend_option(parser)
    parser.add_argument("--suppliers", type=int, default=100_000)
    parser.add_argument(
        "--batch-size",
        type=int,
        help="suppliers per batch (default: the command's, as each code being timed has it)",
    )
    parser.add_argument(
        "--period-batch-size",
        type=int,
        default=import_cli.PERIOD_BATCH_SIZE,
        help="periods per batch of import subscriptions (default: the command's)",
    )
    parser.add_argument(
        "--against",
        metavar="REF",
        help="also time the supplier imports with this git ref's code (e.g. main), same run",
    )
    parser.add_argument(
        "--periods-only",
        action="store_true",
        help="import the suppliers once, untimed, and measure only the subscription imports",
    )
    parser.add_argument("--suppliers-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--emit-json", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    backends = chosen_backends(args.backend)
    args.given_batch_size = args.batch_size
    # Code from before the constant existed imported in batches of 1,000 by default.
    args.batch_size = args.batch_size or getattr(import_cli, "SUPPLIER_BATCH_SIZE", 1000)
    table = Table(
        "backend",
        "import",
        "lines",
        "time",
        f"rows/s (goal {GOAL:,.0f})",
        "then rescoring",
        title=f"import suppliers: {args.suppliers:,} lines, batches of {args.batch_size:,}",
    )
    against = Table(
        "backend",
        "import",
        f"{args.against} rows/s",
        "this code rows/s",
        "ratio",
        "load average (1, 5, 15 min)",
        title=f"supplier imports: {args.against} against this code, same run",
    )
    emitted: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="wedsync_imports_") as tmp:
        for backend in backends:
            before = load_average()
            theirs = ref_rates(args.against, backend, args, Path(tmp)) if args.against else {}
            mine: dict[str, float] = {}
            rows = await one_backend(
                backend,
                args.suppliers,
                args.batch_size,
                args.period_batch_size,
                Path(tmp),
                suppliers_only=args.suppliers_only,
                periods_only=args.periods_only,
                rates=mine,
            )
            emitted |= mine
            for row in rows:
                table.add_row(*row)
            for label in theirs:
                against.add_row(
                    backend,
                    label,
                    f"{theirs[label]:,.0f}",
                    f"{mine[label]:,.0f}",
                    f"{mine[label] / theirs[label]:.2f}x",
                    f"{before} → {load_average()}",
                )
    if args.emit_json:
        args.emit_json.write_text(json.dumps(emitted))
        return
    console.print(table)
    console.print(
        "rows/s counts the file's lines over the import's time without the final rescoring, "
        "shown apart: once per import, the touched suppliers' health (everyone above 5,000), "
        "with the delivery of the success events it raised for the supplier imports (which "
        "raise none themselves)."
    )
    if args.against:
        console.print(against)
    console.print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    asyncio.run(main())
