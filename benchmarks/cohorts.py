"""Cohort table speed: ``reports.cohorts.cohort_retention`` over 100,000 suppliers and
~500,000 subscription periods, beside a baseline in the same run.

Usage: ``.venv/bin/python benchmarks/cohorts.py [--backend sqlite|postgresql|both]
[--suppliers 100000] [--periods-per-supplier 5] [--repeat 3] [--before /work/main]``

For each backend, on a fresh database: N suppliers signed up over 24 months, each with
``--periods-per-supplier`` billed periods (one to four months each, back to back, one in ten
with a month's pause, two in five ending in churn, the rest open), written by bulk insert.
Timed (best of ``--repeat``): the 24-month cohort table by signup month (logo and revenue at
once: both come from the same two queries), and by vendor type. Baseline: one aggregate over
every period joined to its supplier (``count`` and ``sum`` of MRR grouped by signup day's
vendor type) - the least any history report reads. Goal: cohort table < 3 s.

The periods are bulk-written, so the coverage stretches the cohort table reads
(``suppliers/coverage.py``) are then rebuilt for every supplier in one refresh, timed too:
what the migration's backfill costs. ``--before CHECKOUT`` also times the same tables, on the
same database in the same run, with the code of another checkout (e.g. ``main``, which reads
the periods themselves): a child process of this script with that checkout's ``src`` first
on its path (``--time-only``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.engine.url import make_url

from bench_cli import add_backend_option, chosen_backends
from bench_data import DEFAULT_POSTGRES_URL, VENDOR_TYPES, BenchDatabase, _sqlite_ts, pg_connect
from bench_timing import fmt_s
from wedsync_success.config import Settings
from wedsync_success.context import build_context
from wedsync_success.kit.currency import DEFAULT_RATES
from wedsync_success.reports.cohorts import cohort_retention
from wedsync_success.reports.history_schemas import CohortBy
from wedsync_success.suppliers.models import SubscriptionPeriod, Supplier

CHUNK = 5000

console = Console()
GOAL = 3.0
START = datetime(2025, 1, 1, tzinfo=UTC)
AS_OF = date(2026, 12, 31)


def population(
    n: int, per: int, seed: int = 3
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Suppliers and their periods as rows (vectorised draws, one dict per row to insert)."""
    rng = np.random.default_rng(seed)
    signup = rng.integers(0, 730, size=n)
    lengths = rng.integers(1, 5, size=(n, per)) * 30
    pause = (rng.random(n) < 0.1)[:, None] & (np.arange(per)[None, :] >= per // 2 + 1)
    starts = (
        signup[:, None]
        + np.concatenate(
            [np.zeros((n, 1), dtype=np.int64), np.cumsum(lengths, axis=1)[:, :-1]], axis=1
        )
        + pause * 30
    )
    ends = starts + lengths
    churned = rng.random(n) < 0.4
    mrr = rng.choice([1900, 4900, 12900], size=n)
    vendor = rng.integers(0, len(VENDOR_TYPES), size=n)
    ids = [uuid.UUID(int=int(x), version=4) for x in rng.integers(0, 2**62, size=n)]
    suppliers, periods = [], []
    start_day = [START + timedelta(days=int(d)) for d in range(int(ends.max()) + 1)]
    for i in range(n):
        last_end = start_day[int(ends[i, -1])] if churned[i] else None
        suppliers.append(
            {
                "id": ids[i],
                "business_name": f"Bench {i}",
                "vendor_type": VENDOR_TYPES[int(vendor[i])],
                "country": "GB",
                "signed_up_at": start_day[int(signup[i])],
                "plan_tier": "starter",
                "mrr_minor": int(mrr[i]),
                "currency": "GBP",
                "subscription_status": "cancelled" if churned[i] else "active",
                "subscription_started_at": start_day[int(signup[i])],
                "subscription_ended_at": last_end,
                "created_at": START,
            }
        )
        for k in range(per):
            is_last = k == per - 1
            periods.append(
                {
                    "supplier_id": ids[i],
                    "plan": "starter",
                    "starts_at": start_day[int(starts[i, k])],
                    "ends_at": None if is_last and not churned[i] else start_day[int(ends[i, k])],
                    "mrr_minor": int(mrr[i]),
                    "currency": "GBP",
                    "quantity": 1,
                    "discount_minor": 0,
                    "bill_period_months": 1,
                    "created_at": START,
                }
            )
    return suppliers, periods


def load(db: BenchDatabase, *tables: tuple[str, list[dict[str, Any]]]) -> None:
    """Bulk-write each ``(table, rows)`` with the driver (COPY on PostgreSQL, executemany on
    SQLite)."""
    if db.backend == "sqlite":

        def value(v: Any) -> Any:
            if isinstance(v, datetime):
                return _sqlite_ts(v)
            return v.hex if isinstance(v, uuid.UUID) else v

        with sqlite3.connect(make_url(db.url).database or "") as conn:
            for name, rows in tables:
                columns = list(rows[0])
                conn.executemany(
                    f"INSERT INTO {name} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' for _ in columns)})",
                    ([value(r[c]) for c in columns] for r in rows),
                )
        return
    with pg_connect(db.url) as conn, conn.cursor() as cur:
        for name, rows in tables:
            columns = list(rows[0])
            with cur.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as cp:
                for r in rows:
                    cp.write_row([r[c] for c in columns])


async def run_backend(
    backend: str, n: int, per: int, repeat: int, pg_url: str, before: str | None
) -> dict[str, float]:
    from wedsync_success.suppliers.coverage import refresh_coverage  # not in older checkouts

    db = BenchDatabase(backend, pg_url)
    ctx = build_context(Settings(database_url=db.url, secret_key="x" * 40))
    try:
        suppliers, periods = population(n, per)
        began = time.perf_counter()
        load(db, ("suppliers", suppliers), ("subscription_periods", periods))
        console.print(
            f"[dim]{backend}: {n:,} suppliers, {len(periods):,} periods loaded in "
            f"{time.perf_counter() - began:.1f} s[/]"
        )
        began = time.perf_counter()
        async with ctx.db.transaction() as session:
            await refresh_coverage(session=session, supplier_ids=None)
        refreshed = time.perf_counter() - began
        await ctx.db.refresh_statistics()
        await ctx.db.refresh_plans(["suppliers", "subscription_periods", "supplier_coverage"])
        figures = await time_tables(ctx, n, repeat)
        figures["refresh"] = refreshed
        if before is not None:
            figures |= {f"before_{k}": v for k, v in time_before(before, db.url, n, repeat).items()}
        return figures
    finally:
        await ctx.close()
        db.drop()


def time_before(checkout: str, url: str, n: int, repeat: int) -> dict[str, float]:
    """The timings of this script's ``--time-only`` run with ``checkout``'s code."""
    here = os.path.dirname(os.path.abspath(__file__))
    env = os.environ | {"PYTHONPATH": f"{os.path.join(checkout, 'src')}:{here}"}
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--time-only",
            url,
            *("--suppliers", str(n)),
            "--repeat",
            str(repeat),
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return figures


async def time_only(url: str, n: int, repeat: int) -> None:
    ctx = build_context(Settings(database_url=url, secret_key="x" * 40))
    try:
        print(json.dumps(await time_tables(ctx, n, repeat)))
    finally:
        await ctx.close()


async def time_tables(ctx: Any, n: int, repeat: int) -> dict[str, float]:
    """Best of ``repeat`` of the baseline and the two cohort tables."""
    figures: dict[str, float] = {}

    async def best(label: str, work: Any) -> None:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            async with ctx.db.sessions() as session:
                await work(session)
            times.append(time.perf_counter() - t0)
        figures[label] = min(times)

    async def baseline(session: Any) -> None:
        p, s = SubscriptionPeriod, Supplier
        await session.execute(
            select(s.vendor_type, func.count(), func.sum(p.mrr_minor))
            .join(s, s.id == p.supplier_id)
            .group_by(s.vendor_type)
        )

    def cohort(by: CohortBy) -> Any:
        async def work(session: Any) -> None:
            table = await cohort_retention(
                session,
                signed_up_from=START.date(),
                signed_up_to=date(2026, 12, 31),
                as_of=AS_OF,
                rates=DEFAULT_RATES,
                by=by,
                max_age=24,
            )
            assert sum(r.size for r in table.rows) == n

        return work

    await best("baseline", baseline)
    await best("signup_month", cohort(CohortBy.SIGNUP_MONTH))
    await best("vendor_type", cohort(CohortBy.VENDOR_TYPE))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_backend_option(parser)
    parser.add_argument("--suppliers", type=int, default=100_000)
    parser.add_argument("--periods-per-supplier", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--before", metavar="CHECKOUT", help="also time this checkout's code")
    parser.add_argument("--time-only", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.time_only:
        asyncio.run(time_only(args.time_only, args.suppliers, args.repeat))
        return
    backends = chosen_backends(args.backend)
    table = Table(
        title=f"Cohort table, {args.suppliers:,} suppliers x {args.periods_per_supplier} periods"
        f" (goal < {GOAL:.0f} s; load average {os.getloadavg()[0]:.1f} at start)"
    )
    columns = ["backend", "code", "baseline: one aggregate", "by signup month", "by vendor type"]
    for name in (*columns, "coverage refresh, all"):
        table.add_column(name, justify="right")

    def mark(s: float) -> str:
        return f"[green]{fmt_s(s)}[/]" if s < GOAL else f"[red]{fmt_s(s)}[/]"

    for backend in backends:
        f = asyncio.run(
            run_backend(
                backend,
                args.suppliers,
                args.periods_per_supplier,
                args.repeat,
                args.postgres_url,
                args.before,
            )
        )
        if args.before:
            b = [f[f"before_{k}"] for k in ("baseline", "signup_month", "vendor_type")]
            table.add_row(backend, "before", fmt_s(b[0]), mark(b[1]), mark(b[2]), "")
        row = [fmt_s(f["baseline"]), mark(f["signup_month"]), mark(f["vendor_type"])]
        table.add_row(backend, "this", *row, fmt_s(f["refresh"]))
    console.print(table)
    console.print(f"[dim]load average at the end: {os.getloadavg()}[/]")


if __name__ == "__main__":
    main()
