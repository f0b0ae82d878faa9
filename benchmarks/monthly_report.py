"""Time to make the monthly report (and the Business page's data), part by part.

Usage::

    .venv/bin/python benchmarks/monthly_report.py [--backend sqlite|postgresql|both]
        [--suppliers 2000 20000]

For each size and backend: the population of ``benchmarks/roi.py`` (18 months of the demo's
generator, its playbook runs and messages, one churn prediction per active supplier a
month). Then, median of 3: each report the month gathers (retention, cohorts, survival, LTV,
churn by reason, NPS, CSAT, ROI, model accuracy), the whole gathering
(``reports.business.business_pack``), and rendering the self-contained HTML
(``web.monthly_report.render_monthly``). The baseline of the same run is the retention
report alone, the one figure every monthly report needs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench_cli import add_backend_option, chosen_backends
from roi import END, postgres_url, prediction_log
from wedsync_success.config import Settings
from wedsync_success.context import build_context
from wedsync_success.db import migrate
from wedsync_success.reports import business
from wedsync_success.reports.roi import holdouts_of
from wedsync_success.synthetic import generate_population
from wedsync_success.synthetic.loader import load_outreach, load_suppliers
from wedsync_success.web.monthly_report import render_monthly

MONTH = date(2026, 5, 1)
MONTHS = 12
REPEATS = 3
console = Console()


async def _median(work: Callable[[], Awaitable[Any]]) -> float:
    await work()
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


class Timed:
    """Wraps the gathering's report functions to time each call of a run."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {}

    def wrap(self, name: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.seconds.setdefault(name, []).append(time.perf_counter() - started)

        return timed


PARTS = {
    "retention": "retention_report",
    "cohorts": "cohort_retention",
    "survival": "survival_curves",
    "LTV": "lifetime_value",
    "churn by reason": "churn_breakdown",
    "NPS": "nps_report",
    "CSAT": "csat_report",
    "ROI": "roi_report",
    "model accuracy": "model_accuracy",
}


async def measure(url: str, size: int) -> dict[str, float]:
    migrate.upgrade(url)
    ctx = build_context(Settings(database_url=url, secret_key="x" * 40), clock=lambda: END)
    try:
        population = generate_population(suppliers=size, months=18, seed=7, end=END)
        await load_suppliers(ctx, population, progress=lambda *_: None)
        await load_outreach(ctx, population)
        await prediction_log(ctx)
        await ctx.db.refresh_statistics()
        timed = Timed()
        for attr in PARTS.values():  # time each report where the gathering calls it
            setattr(business, attr, timed.wrap(attr, getattr(business, attr)))

        async def gather() -> business.BusinessPack:
            async with ctx.db.sessions() as session:
                return await business.business_pack(
                    session=session,
                    month=MONTH,
                    months=MONTHS,
                    today=END.date(),
                    rates=ctx.settings.rates,
                    gross_margin=ctx.settings.gross_margin,
                    holdouts=holdouts_of(ctx.interventions.catalog),
                    costs=ctx.programme_costs,
                )

        total = await _median(gather)
        pack = await gather()
        started = time.perf_counter()
        for _ in range(REPEATS):
            html = render_monthly(pack, months=MONTHS, generated_at=datetime.now(UTC))
        render = (time.perf_counter() - started) / REPEATS
        figures = {name: statistics.median(timed.seconds[attr]) for name, attr in PARTS.items()}
        figures |= {"gathering": total, "render": render, "bytes": float(len(html.encode()))}
        return figures
    finally:
        await ctx.close()


async def main(backends: list[str], sizes: list[int]) -> None:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            for backend in backends:
                drop: Callable[[], None] | None = None
                if backend == "sqlite":
                    url = f"sqlite+aiosqlite:///{Path(folder) / f'monthly{size}.db'}"
                else:
                    url, drop = postgres_url(size)
                try:
                    results[f"{backend} {size:,}"] = await measure(url, size)
                finally:
                    if drop is not None:
                        drop()
    table = Table("part", *results)
    table.title = (
        f"The monthly report for {MONTH:%B %Y}, {MONTHS} months of trend (median of {REPEATS})"
    )
    for name in PARTS:
        label = f"{name} (baseline)" if name == "retention" else name
        table.add_row(label, *(f"{f[name] * 1000:,.0f} ms" for f in results.values()))
    table.add_row(
        "[bold]whole gathering[/]",
        *(f"[bold]{f['gathering'] * 1000:,.0f} ms[/]" for f in results.values()),
    )
    table.add_row("render HTML", *(f"{f['render'] * 1000:,.0f} ms" for f in results.values()))
    table.add_row("report size", *(f"{f['bytes'] / 1024:,.0f} KiB" for f in results.values()))
    console.print(table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_backend_option(parser)
    parser.add_argument("--suppliers", type=int, nargs="+", default=[2000, 20000])
    args = parser.parse_args()
    chosen = chosen_backends(args.backend)
    asyncio.run(main(chosen, args.suppliers))
