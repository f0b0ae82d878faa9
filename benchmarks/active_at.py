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

Also the churn model's eligibility ("a customer at the cutoff", counted over every supplier)
as it was, an EXISTS probe over the periods per supplier (the rule kept here as it read),
and as it is, two outer joins on the coverage stretches (``join_active_at``). The periods
are bulk-written, so the coverage is rebuilt once after the load (timed).
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import date, timedelta

from rich.console import Console
from rich.table import Table
from sqlalchemy import and_, case, exists, func, not_, or_, select

from bench_cli import chosen_backends
from bench_data import BenchDatabase
from bench_timing import fmt_s
from retention import generate, history_parser, write
from wedsync_success.config import Settings
from wedsync_success.context import build_context
from wedsync_success.kit.clock import start_of_day
from wedsync_success.reports.overview import _month_start, monthly_churn
from wedsync_success.suppliers.coverage import refresh_coverage
from wedsync_success.suppliers.models import SubscriptionPeriod, Supplier
from wedsync_success.suppliers.subscriptions import (
    active_at,
    join_active_at,
    period_covers,
    running_at,
)

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


def _eligible_before() -> object:
    """Suppliers active at the cutoff as eligibility read them before coverage: an EXISTS
    over the periods, the row for a supplier without any."""
    s, p = Supplier, SubscriptionPeriod
    covered = exists().where(p.supplier_id == s.id, period_covers(CUTOFF))
    stored = exists().where(p.supplier_id == s.id)
    return select(func.count()).where(or_(covered, and_(~stored, active_at(CUTOFF))))


def _eligible_now() -> object:
    query, active = join_active_at(select(func.count()).select_from(Supplier), Supplier.id, CUTOFF)
    return query.where(active)


CUTOFF = start_of_day(AS_OF - timedelta(days=90))


async def measure(url: str, months: int, runs: int) -> dict[str, float]:
    """Best seconds of each query, the starting count and the coverage refresh."""
    ctx = build_context(Settings(database_url=url))
    try:
        new, old, before, now = [], [], [], []
        active = 0
        started = time.perf_counter()
        async with ctx.db.transaction() as session:
            await refresh_coverage(session=session, supplier_ids=None)
        refreshed = time.perf_counter() - started
        await ctx.db.refresh_statistics()
        await ctx.db.refresh_plans(["suppliers", "subscription_periods", "supplier_coverage"])
        counts = set()
        for _ in range(runs):
            for query, into in ((_eligible_before(), before), (_eligible_now(), now)):
                async with ctx.db.sessions() as session:
                    started = time.perf_counter()
                    counts.add(await session.scalar(query))  # type: ignore[call-overload]
                    into.append(time.perf_counter() - started)
            async with ctx.db.sessions() as session:
                started = time.perf_counter()
                (await session.execute(_row_rule_query(months))).one()  # type: ignore[call-overload]
                old.append(time.perf_counter() - started)
            async with ctx.db.sessions() as session:
                started = time.perf_counter()
                series = await monthly_churn(session, as_of=AS_OF, months=months)
                new.append(time.perf_counter() - started)
                active = series[0].active_at_start
        assert len(counts) == 1, counts  # the same suppliers either way
        return {
            "new": min(new),
            "old": min(old),
            "active": active,
            "eligible_before": min(before),
            "eligible_now": min(now),
            "refresh": refreshed,
        }
    finally:
        await ctx.close()


def main() -> None:
    args = history_parser(__doc__.splitlines()[0], months=12).parse_args()
    history = generate(args.suppliers, args.periods_per_supplier, args.seed)
    table = Table(
        title=f"Overview monthly churn, {args.months} months, {args.suppliers:,} suppliers, "
        f"{len(history.supplier):,} periods (best of {args.runs}; load {os.getloadavg()[0]:.1f})"
    )
    headers = ("Backend", "Row rule (before)", "Periods (now)", "Now / before", "Active")
    for header in (
        *headers,
        "Eligibility: EXISTS on periods (before)",
        "Eligibility: coverage join (now)",
        "Coverage refresh, all",
    ):
        table.add_column(header, justify="right")
    backends = chosen_backends(args.backend)
    for backend in backends:
        db = BenchDatabase(backend, args.postgres_url)
        try:
            write(db.url, history)
            f = asyncio.run(measure(db.url, args.months, args.runs))
            table.add_row(
                backend,
                fmt_s(f["old"]),
                fmt_s(f["new"]),
                f"{f['new'] / f['old']:.1f}×",
                f"{int(f['active']):,}",
                fmt_s(f["eligible_before"]),
                fmt_s(f["eligible_now"]),
                fmt_s(f["refresh"]),
            )
        finally:
            db.drop()
    console.print(table)


if __name__ == "__main__":
    main()
