"""How well the playbook results recover the synthetic population's known outreach effect.

Usage::

    .venv/bin/python benchmarks/outreach_effect.py [--seeds 20] [--suppliers 4000]

For each seed: a population (18 months) is generated, its suppliers and simulated at-risk
rescue runs are loaded into a fresh SQLite database, and ``playbook_results`` is compared
with the simulation's own true retention difference at 30/60/90 days. Prints each seed's
estimate, interval and truth, then per horizon the empirical coverage of the 95 % interval
(should be near 0.95) and the mean estimate against the mean truth.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from wedsync_success.config import Settings
from wedsync_success.context import build_context
from wedsync_success.db import migrate
from wedsync_success.interventions.results import HORIZON_DAYS, playbook_results
from wedsync_success.synthetic import generate_population
from wedsync_success.synthetic.loader import load_outreach, load_suppliers

END = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


async def one_seed(
    seed: int, suppliers: int, folder: Path
) -> list[tuple[int, float, float, float, float]]:
    """(days, estimate, low, high, truth) per horizon for one seed."""
    population = generate_population(suppliers=suppliers, months=18, seed=seed, end=END)
    url = f"sqlite+aiosqlite:///{folder / f'seed{seed}.db'}"
    migrate.upgrade(url)
    ctx = build_context(Settings(database_url=url, secret_key="x" * 40), clock=lambda: END)
    try:
        await load_suppliers(ctx, population, progress=lambda *_: None)
        await load_outreach(ctx, population)
        async with ctx.db.sessions() as session:
            results = await playbook_results(
                session=session, playbook_key="at_risk_rescue", as_of=END
            )
    finally:
        await ctx.close()
    rows = []
    for horizon in results.horizons:
        truth = population.outreach_truth.retention_difference(days=horizon.days, as_of=END)
        u = horizon.uplift
        if u.difference is None or u.low is None or u.high is None or truth is None:
            continue
        rows.append((horizon.days, u.difference, u.low, u.high, truth))
    return rows


async def main(seeds: int, suppliers: int) -> None:
    console = Console()
    table = Table("seed", "days", "estimate", "95 % interval", "truth", "covered")
    collected: dict[int, list[tuple[float, float, bool]]] = {d: [] for d in HORIZON_DAYS}
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(1, seeds + 1):
            for days, estimate, low, high, truth in await one_seed(seed, suppliers, Path(folder)):
                covered = low <= truth <= high
                collected[days].append((estimate, truth, covered))
                table.add_row(
                    str(seed), str(days), f"{estimate:+.4f}", f"[{low:+.4f}, {high:+.4f}]",
                    f"{truth:+.4f}", "yes" if covered else "NO",
                )  # fmt: skip
    console.print(table)
    for days, values in collected.items():
        n = len(values)
        coverage = sum(v[2] for v in values) / n
        mean_estimate = sum(v[0] for v in values) / n
        mean_truth = sum(v[1] for v in values) / n
        console.print(
            f"{days:>2} days: coverage {coverage:.2f} over {n} seeds; "
            f"mean estimate {mean_estimate:+.4f}, mean truth {mean_truth:+.4f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--suppliers", type=int, default=4000)
    args = parser.parse_args()
    asyncio.run(main(args.seeds, args.suppliers))
