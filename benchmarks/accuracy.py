"""Model-accuracy report speed: ``reports.accuracy.model_accuracy`` over a prediction log of
one prediction per supplier a month, beside the way it read the log before, in the same run.

Usage: ``.venv/bin/python benchmarks/accuracy.py [--backend sqlite|postgresql|both]
[--suppliers 20000] [--months 12] [--repeat 3]``

For each backend, on a fresh database: N suppliers (``cohorts.population``: two in five
churned) and ``--months`` monthly predictions for each (probabilities drawn from Beta(1, 12),
horizons of 30 days), written by ``COPY`` / ``executemany``. After one warm-up report
(scikit-learn's import, the statement caches), timed, best of ``--repeat``:

1. **report**: ``model_accuracy`` over the months, as shipped: the log grouped in SQL by month,
   model version and outcome, each group's probabilities packed into one value.
2. **previous way** (baseline): the same report with the log read one row per prediction
   (the query it used before), the metrics computed by the same code. The two reports must
   be equal (see :func:`same`), or the benchmark stops.
3. **bare count**: ``count(*)`` of the window's predictions, the least any query reads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest import mock

import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import and_, case, false, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bench_cli import add_backend_option, chosen_backends
from bench_data import DEFAULT_POSTGRES_URL, BenchDatabase
from bench_timing import fmt_s
from cohorts import load, population
from wedsync_success.churn.models import ChurnPrediction
from wedsync_success.config import Settings
from wedsync_success.context import build_context
from wedsync_success.reports import accuracy_repository as repo
from wedsync_success.reports.accuracy import model_accuracy
from wedsync_success.suppliers.models import Supplier

console = Console()
FIRST = date(2025, 1, 1)
AS_OF = datetime(2027, 6, 1, tzinfo=UTC)


def months(count: int) -> list[date]:
    return [
        date(FIRST.year + (FIRST.month - 1 + k) // 12, (FIRST.month - 1 + k) % 12 + 1, 1)
        for k in range(count + 1)
    ]


def prediction_log(ids: list[Any], starts: list[date]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(13)
    rows = []
    for month in starts[:-1]:
        cutoff = datetime(month.year, month.month, month.day, tzinfo=UTC) + timedelta(days=1)
        for sid, p in zip(ids, rng.beta(1, 12, size=len(ids)).tolist(), strict=True):
            rows.append(
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
            )
    return rows


async def previous_outcomes(
    session: AsyncSession, *, start: date, end: date, known_by: datetime
) -> repo.Outcomes:
    """The log as the report read it before: one row per realised prediction."""
    p, s = ChurnPrediction, Supplier
    in_window = and_(p.as_of >= start, p.as_of < end, p.horizon_end <= known_by)
    first = (
        select(p.supplier_id, p.model_version, func.min(p.as_of).label("first_day"))
        .where(in_window)
        .group_by(p.supplier_id, p.model_version, repo.month_of(p.as_of))
        .subquery()
    )
    churned = case(
        (
            and_(s.subscription_ended_at.is_not(None), s.subscription_ended_at <= p.horizon_end),
            true(),
        ),
        else_=false(),
    )
    query = (
        select(repo.month_of(p.as_of), p.model_version, p.probability, churned)
        .join(
            first,
            and_(
                first.c.supplier_id == p.supplier_id,
                first.c.model_version == p.model_version,
                first.c.first_day == p.as_of,
            ),
        )
        .join(s, s.id == p.supplier_id)
    )
    rows = (await session.execute(query)).all()
    columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[], [], [], []]
    return repo.Outcomes(
        month=np.asarray(columns[0], dtype=np.str_),
        model_version=np.asarray(columns[1], dtype=np.str_),
        probability=np.asarray(columns[2], dtype=np.float64),
        churned=np.asarray(columns[3], dtype=np.bool_),
    )


def same(a: Any, b: Any) -> bool:
    """Equal reports, floats to 1e-12: the calibration bins' unrounded mean probabilities
    depend on the order the values are summed in, which neither way fixes (every rounded
    metric is identical)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)
    return bool(a == b)


async def run_backend(
    backend: str, n: int, count: int, repeat: int, pg_url: str
) -> dict[str, float]:
    db = BenchDatabase(backend, pg_url)
    ctx = build_context(Settings(database_url=db.url, secret_key="x" * 40))
    starts = months(count)
    try:
        suppliers, _ = population(n, 1)
        log = prediction_log([s["id"] for s in suppliers], starts)
        began = time.perf_counter()
        load(db, ("suppliers", suppliers), ("churn_predictions", log))
        console.print(
            f"[dim]{backend}: {n:,} suppliers, {len(log):,} predictions loaded in "
            f"{time.perf_counter() - began:.1f} s[/]"
        )
        await ctx.db.refresh_statistics()

        async def report(session: AsyncSession) -> Any:
            found = await model_accuracy(
                session=session, start=starts[0], end=starts[-1], as_of=AS_OF
            )
            assert sum(m.predictions for m in found.months) == len(log)
            return json.loads(found.model_dump_json())

        async def previous(session: AsyncSession) -> Any:
            with mock.patch.object(repo, "monthly_outcomes", previous_outcomes):
                return await report(session)

        async def bare(session: AsyncSession) -> int:
            p = ChurnPrediction
            query = select(func.count()).where(p.as_of >= starts[0], p.as_of < starts[-1])
            return int(await session.scalar(query) or 0)

        async with ctx.db.sessions() as session:
            await report(session)  # warm up: scikit-learn's import, the statement caches
        figures: dict[str, float] = {}
        results: dict[str, Any] = {}
        for label, work in (("bare", bare), ("previous", previous), ("report", report)):
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                async with ctx.db.sessions() as session:
                    results[label] = await work(session)
                times.append(time.perf_counter() - t0)
            figures[label] = min(times)
        if not same(results["report"], results["previous"]):
            raise SystemExit(f"{backend}: the report differs from the previous way's")
        figures["rows"] = len(log)
        return figures
    finally:
        await ctx.close()
        db.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    add_backend_option(parser)
    parser.add_argument("--suppliers", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args()
    backends = chosen_backends(args.backend)
    table = Table(
        title=f"Model-accuracy report, {args.suppliers:,} suppliers x {args.months} months "
        f"(best of {args.repeat}; the two ways' reports equal)"
    )
    for name in ("backend", "predictions", "bare count", "previous way", "report", "speed-up"):
        table.add_column(name, justify="right")
    for backend in backends:
        f = asyncio.run(
            run_backend(backend, args.suppliers, args.months, args.repeat, args.postgres_url)
        )
        table.add_row(
            backend,
            f"{int(f['rows']):,}",
            fmt_s(f["bare"]),
            fmt_s(f["previous"]),
            fmt_s(f["report"]),
            f"{f['previous'] / f['report']:.1f}x",
        )
    console.print(table)


if __name__ == "__main__":
    main()
