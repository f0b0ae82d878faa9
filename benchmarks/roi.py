"""Time of the ROI and model-accuracy reports over a synthetic population.

Usage::

    .venv/bin/python benchmarks/roi.py [--backend sqlite|postgresql|both] [--suppliers 2000 20000]

For each size and backend: a population (18 months, the demo's generator) is loaded with its
simulated at-risk rescue runs and messages, plus a prediction log of one prediction per
active supplier a month; then ``roi_report`` over the last 12 months and ``model_accuracy``
over the same months are timed (median of 5 runs). Baseline in the same run: the bare
``GROUP BY`` count of the window's runs by playbook and arm, the least any ROI query does.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, insert, select

from bench_cli import add_backend_option, chosen_backends
from wedsync_success.churn.models import ChurnPrediction
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.db import migrate
from wedsync_success.interventions.models import PlaybookRun
from wedsync_success.reports.accuracy import model_accuracy
from wedsync_success.reports.roi import holdouts_of, roi_report
from wedsync_success.suppliers.models import Supplier
from wedsync_success.synthetic import generate_population
from wedsync_success.synthetic.loader import load_outreach, load_suppliers

END = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
START_DAY, END_DAY = date(2025, 6, 1), date(2026, 6, 1)
REPEATS = 5
POSTGRES_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
console = Console()


def _sqlite_url(folder: Path, size: int) -> str:
    return f"sqlite+aiosqlite:///{folder / f'roi{size}.db'}"


def postgres_url(size: int) -> tuple[str, Callable[[], None]]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine.url import make_url

    admin = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    name = f"wedsync_bench_roi_{size}_{uuid.uuid4().hex[:6]}"
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    return url, drop


async def prediction_log(ctx: AppContext) -> int:
    """One prediction per supplier active at each month's start, probabilities at random."""
    rng = np.random.default_rng(13)
    async with ctx.db.sessions() as session:
        ids = list((await session.scalars(select(Supplier.id))).all())
    rows: list[dict[str, Any]] = []
    month = START_DAY
    while month < END_DAY:
        cutoff = datetime(month.year, month.month, month.day, tzinfo=UTC) + timedelta(days=1)
        probabilities = rng.beta(1, 12, size=len(ids)).tolist()
        rows += [
            {
                "supplier_id": sid,
                "model_version": "bench",
                "as_of": month,
                "horizon_days": 30,
                "horizon_end": cutoff + timedelta(days=30),
                "probability": p,
                "risk_band": "low",
                "predicted_at": cutoff,
            }
            for sid, p in zip(ids, probabilities, strict=True)
        ]
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    async with ctx.db.transaction() as session:
        for i in range(0, len(rows), 5000):
            await session.execute(insert(ChurnPrediction), rows[i : i + 5000])
    return len(rows)


async def _median(work: Callable[[], Awaitable[Any]]) -> float:
    await work()  # warm the caches and the statement cache
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def measure(url: str, size: int) -> dict[str, Any]:
    migrate.upgrade(url)
    ctx = build_context(Settings(database_url=url, secret_key="x" * 40), clock=lambda: END)
    try:
        started = time.perf_counter()
        population = generate_population(suppliers=size, months=18, seed=7, end=END)
        await load_suppliers(ctx, population, progress=lambda *_: None)
        runs, messages = await load_outreach(ctx, population)
        predictions = await prediction_log(ctx)
        await ctx.db.refresh_statistics()
        seeding = time.perf_counter() - started
        holdouts = holdouts_of(ctx.interventions.catalog)

        async def roi() -> Any:
            async with ctx.db.sessions() as session:
                return await roi_report(
                    session=session,
                    start=START_DAY,
                    end=END_DAY,
                    as_of=END,
                    holdouts=holdouts,
                    costs=ctx.programme_costs,
                    rates=ctx.settings.rates,
                )

        async def accuracy() -> Any:
            async with ctx.db.sessions() as session:
                return await model_accuracy(
                    session=session, start=START_DAY, end=END_DAY, as_of=END
                )

        async def baseline() -> Any:
            r = PlaybookRun
            start = datetime(START_DAY.year, START_DAY.month, START_DAY.day, tzinfo=UTC)
            end = datetime(END_DAY.year, END_DAY.month, END_DAY.day, tzinfo=UTC)
            query = (
                select(r.playbook_key, r.arm, func.count())
                .where(r.enrolled_at >= start, r.enrolled_at < end)
                .group_by(r.playbook_key, r.arm)
            )
            async with ctx.db.sessions() as session:
                return (await session.execute(query)).all()

        report = await roi()
        in_window = report.total.treated + report.total.control
        return {
            "runs": runs,
            "in_window": in_window,
            "messages": messages,
            "predictions": predictions,
            "seeding": seeding,
            "roi": await _median(roi),
            "baseline": await _median(baseline),
            "accuracy": await _median(accuracy),
        }
    finally:
        await ctx.close()


async def main(backends: list[str], sizes: list[int]) -> None:
    table = Table(
        "backend",
        "suppliers",
        "runs (in window)",
        "messages",
        "predictions",
        "ROI report",
        "baseline GROUP BY",
        "model accuracy",
        title=f"ROI and model-accuracy reports, window {START_DAY} to {END_DAY} (median of "
        f"{REPEATS})",
    )
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            for backend in backends:
                drop: Callable[[], None] | None = None
                if backend == "sqlite":
                    url = _sqlite_url(Path(folder), size)
                else:
                    url, drop = postgres_url(size)
                try:
                    f = await measure(url, size)
                finally:
                    if drop is not None:
                        drop()
                console.print(f"{backend} {size:,}: seeded in {f['seeding']:.1f} s")
                table.add_row(
                    backend,
                    f"{size:,}",
                    f"{f['runs']:,} ({f['in_window']:,})",
                    f"{f['messages']:,}",
                    f"{f['predictions']:,}",
                    f"{f['roi'] * 1000:,.1f} ms",
                    f"{f['baseline'] * 1000:,.1f} ms",
                    f"{f['accuracy'] * 1000:,.1f} ms",
                )
    console.print(table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_backend_option(parser)
    parser.add_argument("--suppliers", type=int, nargs="+", default=[2000, 20000])
    args = parser.parse_args()
    chosen = chosen_backends(args.backend)
    asyncio.run(main(chosen, args.suppliers))
