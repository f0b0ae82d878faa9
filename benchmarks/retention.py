"""The retention report over a large history, beside a plain scan of the same table.

Usage: ``.venv/bin/python benchmarks/retention.py [--backend sqlite|postgresql|both]
[--suppliers 100000] [--periods-per-supplier 5] [--months 24] [--runs 3]``

For each backend, on a fresh database: N suppliers and about 5 N subscription periods
(a seeded NumPy generator below: each supplier's periods follow one another, with plan
changes, one gap in six (a reactivation), one supplier in ten holding an add-on at the same
time, three currencies, the last period open half the time) are written with the sync
driver (``executemany`` on SQLite, ``COPY`` on PostgreSQL), plus 5 % of suppliers with no
history (counted from their row). Then ``retention_report`` (the service the API and CLI
call) for ``--months`` monthly periods, best of ``--runs``, beside the baseline of the same
run: ``SELECT count(*), sum(mrr_minor) FROM subscription_periods`` (one scan of the table).
Goal: 24 monthly periods over 100,000 suppliers and ~500,000 periods in < 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine.url import make_url

from bench_cli import add_backend_option, chosen_backends
from bench_data import DEFAULT_POSTGRES_URL, PLANS, BenchDatabase, pg_connect
from bench_timing import fmt_s
from wedsync_success.config import Settings
from wedsync_success.context import build_context
from wedsync_success.reports.retention import retention_report
from wedsync_success.reports.windows import ReportPeriod

console = Console()
GOAL_SECONDS = 2.0
CURRENCIES = ("GBP", "EUR", "USD")
DAY = 86_400
HISTORY_START = datetime(2022, 1, 1, tzinfo=UTC).timestamp()
REPORT_START = date(2024, 7, 1)
CREATED = datetime(2026, 12, 1, tzinfo=UTC)

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class History:
    """Suppliers and their periods as columns (times in epoch seconds, -1 = open)."""

    supplier_ids: list[uuid.UUID]
    supplier_start: IntArray
    supplier_currency: IntArray
    with_history: npt.NDArray[np.bool_]
    supplier: IntArray
    plan: IntArray
    starts: IntArray
    ends: IntArray
    mrr: IntArray


def generate(suppliers: int, per_supplier: int, seed: int) -> History:
    """A seeded history: ``per_supplier`` consecutive periods each (gaps, plan changes), an
    add-on for one supplier in ten; 5 % of suppliers with no stored period."""
    rng = np.random.default_rng(seed)
    ids = [uuid.UUID(bytes=rng.bytes(16), version=4) for _ in range(suppliers)]
    first = HISTORY_START + rng.integers(0, 1200, suppliers) * DAY
    lengths = rng.integers(30, 300, (suppliers, per_supplier)) * DAY
    gaps = np.where(rng.random((suppliers, per_supplier)) < 1 / 6, rng.integers(10, 120), 0) * DAY
    gaps[:, 0] = 0
    starts = first[:, None] + np.cumsum(gaps, axis=1) + np.cumsum(lengths, axis=1) - lengths
    ends = starts + lengths
    ends[:, -1] = np.where(rng.random(suppliers) < 0.5, -1, ends[:, -1])
    plans = rng.integers(1, len(PLANS), (suppliers, per_supplier))  # paid plans
    prices = np.array(list(PLANS.values()))
    owner = np.repeat(np.arange(suppliers), per_supplier)
    supplier_plan = plans.ravel()
    supplier_starts, supplier_ends = starts.ravel(), ends.ravel()
    addon = np.flatnonzero(rng.random(suppliers) < 0.1)
    # The add-on: the free plan's row at a price, for a year from the second period.
    owner = np.concatenate([owner, addon])
    supplier_plan = np.concatenate([supplier_plan, np.zeros(len(addon), dtype=np.int64)])
    addon_start = starts[addon, 1] + 5 * DAY
    supplier_starts = np.concatenate([supplier_starts, addon_start])
    supplier_ends = np.concatenate([supplier_ends, addon_start + 365 * DAY])
    mrr = np.where(supplier_plan == 0, 900, prices[supplier_plan])
    with_history = rng.random(suppliers) >= 0.05
    keep = with_history[owner]
    return History(
        supplier_ids=ids,
        supplier_start=first.astype(np.int64),
        supplier_currency=rng.integers(0, len(CURRENCIES), suppliers),
        with_history=with_history,
        supplier=owner[keep],
        plan=supplier_plan[keep],
        starts=supplier_starts[keep].astype(np.int64),
        ends=supplier_ends[keep].astype(np.int64),
        mrr=mrr[keep].astype(np.int64),
    )


SUPPLIER_SQL = (
    "INSERT INTO suppliers (id, business_name, vendor_type, country, signed_up_at, plan_tier, "
    "mrr_minor, currency, subscription_status, subscription_started_at, created_at) "
    "VALUES (?, ?, 'florist', 'GB', ?, 'professional', 4900, ?, 'active', ?, ?)"
)
PERIOD_SQL = (
    "INSERT INTO subscription_periods (supplier_id, plan, starts_at, ends_at, mrr_minor, "
    "currency, quantity, discount_minor, bill_period_months, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, 1, 0, 1, ?)"
)


def _ts(seconds: int, *, sqlite: bool) -> Any:
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else moment


def _rows(history: History, *, sqlite: bool) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    plans = list(PLANS)
    ids = [sid.hex if sqlite else sid for sid in history.supplier_ids]
    created = _ts(int(CREATED.timestamp()), sqlite=sqlite)
    suppliers = [
        (
            ids[i],
            f"Bench supplier {i}",
            _ts(int(s), sqlite=sqlite),
            CURRENCIES[c],
            _ts(int(s), sqlite=sqlite),
            created,
        )
        for i, (s, c) in enumerate(
            zip(history.supplier_start.tolist(), history.supplier_currency.tolist(), strict=True)
        )
    ]
    periods = [
        (
            ids[o],
            plans[p],
            _ts(s, sqlite=sqlite),
            None if e < 0 else _ts(e, sqlite=sqlite),
            m,
            CURRENCIES[history.supplier_currency[o]],
            created,
        )
        for o, p, s, e, m in zip(
            history.supplier.tolist(),
            history.plan.tolist(),
            history.starts.tolist(),
            history.ends.tolist(),
            history.mrr.tolist(),
            strict=True,
        )
    ]
    return suppliers, periods


def write(url: str, history: History) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        suppliers, periods = _rows(history, sqlite=True)
        with sqlite3.connect(parsed.database or "") as conn:
            conn.executemany(SUPPLIER_SQL, suppliers)
            conn.executemany(PERIOD_SQL, periods)
            conn.execute("ANALYZE")
        return
    suppliers, periods = _rows(history, sqlite=False)
    with pg_connect(url) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY suppliers (id, business_name, vendor_type, country, signed_up_at, plan_tier, "
            "mrr_minor, currency, subscription_status, subscription_started_at, created_at) "
            "FROM STDIN"
        ) as cp:
            for sid, name, signed, cur_code, started, created in suppliers:
                cp.write_row(
                    (
                        sid,
                        name,
                        "florist",
                        "GB",
                        signed,
                        "professional",
                        4900,
                        cur_code,
                        "active",
                        started,
                        created,
                    )
                )
        with cur.copy(
            "COPY subscription_periods (supplier_id, plan, starts_at, ends_at, mrr_minor, "
            "currency, quantity, discount_minor, bill_period_months, created_at) FROM STDIN"
        ) as cp:
            for sid, plan, s, e, m, code, created in periods:
                cp.write_row((sid, plan, s, e, m, code, 1, 0, 1, created))
        conn.commit()
    with pg_connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE suppliers")
        conn.execute("VACUUM ANALYZE subscription_periods")


async def measure(url: str, months: int, runs: int) -> tuple[float, float, int]:
    """Best seconds of the report and of the baseline scan, and the periods it counted."""
    ctx = build_context(Settings(database_url=url))
    end = REPORT_START.replace(year=REPORT_START.year + months // 12)
    try:
        report_times, scan_times = [], []
        counted = 0
        for _ in range(runs):
            async with ctx.db.sessions() as session:
                started = time.perf_counter()
                row = (
                    await session.execute(
                        text("SELECT count(*), sum(mrr_minor) FROM subscription_periods")
                    )
                ).one()
                scan_times.append(time.perf_counter() - started)
                counted = int(row[0])
            async with ctx.db.sessions() as session:
                started = time.perf_counter()
                report = await retention_report(
                    session=session,
                    start=REPORT_START,
                    end=end,
                    period=ReportPeriod.MONTH,
                    rates=ctx.settings.rates,
                )
                report_times.append(time.perf_counter() - started)
        assert len(report.periods) == months
        return min(report_times), min(scan_times), counted
    finally:
        await ctx.close()


def history_parser(description: str, *, months: int) -> argparse.ArgumentParser:
    """The options of a benchmark over a generated subscription history (this one's and
    ``active_at.py``'s): backend, population, months reported, repeats, seed."""
    parser = argparse.ArgumentParser(description=description)
    add_backend_option(parser)
    parser.add_argument("--suppliers", type=int, default=100_000)
    parser.add_argument("--periods-per-supplier", type=int, default=5)
    parser.add_argument("--months", type=int, default=months, choices=[12, 24, 36, 48, 60])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--seed", type=int, default=13)
    return parser


def main() -> None:
    args = history_parser(__doc__.splitlines()[0], months=24).parse_args()
    history = generate(args.suppliers, args.periods_per_supplier, args.seed)
    table = Table(
        title=f"Retention report: {args.months} monthly periods, {args.suppliers:,} suppliers, "
        f"{len(history.supplier):,} periods (best of {args.runs})"
    )
    for header in ("Backend", "Load", "Baseline scan", "Report", "Report / scan", "Goal < 2 s"):
        table.add_column(header, justify="right")
    backends = chosen_backends(args.backend)
    for backend in backends:
        db = BenchDatabase(backend, args.postgres_url)
        try:
            started = time.perf_counter()
            write(db.url, history)
            load = time.perf_counter() - started
            report, scan, counted = asyncio.run(measure(db.url, args.months, args.runs))
            assert counted == len(history.supplier)
            table.add_row(
                backend,
                fmt_s(load),
                fmt_s(scan),
                fmt_s(report),
                f"{report / scan:.1f}×",
                "yes" if report < GOAL_SECONDS else "NO",
            )
        finally:
            db.drop()
    console.print(table)


if __name__ == "__main__":
    main()
