"""The overview's monthly churn from subscription periods, beside the supplier-row rule it
replaced: the price of "active at" from history (one EXISTS probe per supplier and month).

Usage: ``.venv/bin/python benchmarks/active_at.py [--backend sqlite|postgresql|both]
[--suppliers 100000] [--periods-per-supplier 5] [--months 12] [--runs 3]``

For each backend, on a fresh database seeded like ``benchmarks/retention.py`` (N suppliers,
about 5 N periods, a share of suppliers without stored history), the best of ``--runs`` of
``reports.overview.monthly_churn`` for ``--months`` months (active at each month's start and
end from the periods, ``suppliers.subscriptions.active_at_by_periods``), and the baseline of
the same run: the same query with the row's rule (``active_at`` / ``running_at``), what the
overview read before.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import date, timedelta

from rich.console import Console
from rich.table import Table
from sqlalchemy import and_, case, func, not_, select

from bench_cli import chosen_backends
from bench_data import BenchDatabase
from bench_timing import fmt_s
from retention import generate, history_parser, write
from wedsync_success.config import Settings
from wedsync_success.context import build_context
from wedsync_success.kit.clock import start_of_day
from wedsync_success.reports.overview import _month_start, monthly_churn
from wedsync_success.suppliers.subscriptions import active_at, running_at

console = Console()
AS_OF = date(2025, 12, 31)


def _row_rule_query(months: int) -> object:
    """The overview's monthly churn as it was: the supplier row's subscription."""
    end_of_today = start_of_day(AS_OF + timedelta(days=1))
    columns = []
    for back in range(months - 1, -1, -1):
        start = start_of_day(_month_start(AS_OF, back))
        month_end = start_of_day(_month_start(AS_OF, back - 1)) if back else end_of_today
        starting = active_at(start)
        left = and_(starting, not_(running_at(month_end)))
        columns += [func.sum(case((starting, 1), else_=0)), func.sum(case((left, 1), else_=0))]
    return select(*columns)


async def measure(url: str, months: int, runs: int) -> tuple[float, float, int]:
    """Best seconds of the periods' churn and of the row rule's, and the starting count."""
    ctx = build_context(Settings(database_url=url))
    try:
        new, old = [], []
        active = 0
        for _ in range(runs):
            async with ctx.db.sessions() as session:
                started = time.perf_counter()
                (await session.execute(_row_rule_query(months))).one()  # type: ignore[call-overload]
                old.append(time.perf_counter() - started)
            async with ctx.db.sessions() as session:
                started = time.perf_counter()
                series = await monthly_churn(session, as_of=AS_OF, months=months)
                new.append(time.perf_counter() - started)
                active = series[0].active_at_start
        return min(new), min(old), active
    finally:
        await ctx.close()


def main() -> None:
    args = history_parser(__doc__.splitlines()[0], months=12).parse_args()
    history = generate(args.suppliers, args.periods_per_supplier, args.seed)
    table = Table(
        title=f"Overview monthly churn, {args.months} months, {args.suppliers:,} suppliers, "
        f"{len(history.supplier):,} periods (best of {args.runs}; load {os.getloadavg()[0]:.1f})"
    )
    for header in ("Backend", "Row rule (before)", "Periods (now)", "Now / before", "Active"):
        table.add_column(header, justify="right")
    backends = chosen_backends(args.backend)
    for backend in backends:
        db = BenchDatabase(backend, args.postgres_url)
        try:
            write(db.url, history)
            new, old, active = asyncio.run(measure(db.url, args.months, args.runs))
            table.add_row(backend, fmt_s(old), fmt_s(new), f"{new / old:.1f}×", f"{active:,}")
        finally:
            db.drop()
    console.print(table)


if __name__ == "__main__":
    main()
