"""Segment evaluation at scale: the default segments over 100,000 suppliers.

Usage: ``.venv/bin/python benchmarks/segments.py [--backend sqlite|postgresql|both]
[--suppliers 100000] [--runs 3]``

For each backend: a fresh database with N bulk-seeded suppliers (90 days of rollups, see
``bench_data.Seeder``), health scored once (``rescore_all``, which evaluates the segments
too), then the segments' memberships and events wiped so evaluation starts from nothing:

1. **first evaluation**: every member enters (an INSERT … SELECT and its outbox events per
   segment), the cost the first full recompute pays;
2. **unchanged re-evaluation**: the same population again, nothing changes (the steady
   state of the nightly rescore), median of ``--runs``;
3. **a week later**: the clock moved 7 days, so activity windows and tenures shift and some
   suppliers enter and leave;
4. **one ingest batch**: evaluation restricted to 64 suppliers, what the hook adds to an
   ingest's rescore;
5. **baseline, same run**: a plain ``SELECT count(*)`` of each segment's matching query, the
   cost of the rules alone with no membership work.

Goal: the full evaluation of the default segments under 5 s. Figures are quoted with the
load average (``os.getloadavg``): the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import delete, func, select

from bench_cli import add_backend_option, chosen_backends
from bench_data import DEFAULT_POSTGRES_URL, BenchDatabase, Seeder, pg_connect
from bench_timing import fmt_s
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.events.models import OutboxEvent
from wedsync_success.pipeline import rescore_all
from wedsync_success.segments import repository, service
from wedsync_success.segments.models import SegmentMembership

console = Console()
GOAL = 5.0


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} CPUs)"


async def _evaluate(ctx: AppContext, *, now: Any, ids: Sequence[Any] | None = None) -> Any:
    async with ctx.db.transaction() as session:
        started = time.perf_counter()
        results = await service.evaluate(
            session=session, catalog=ctx.segments, now=now, supplier_ids=ids
        )
        seconds = time.perf_counter() - started
    return seconds, results


async def _count_baseline(ctx: AppContext, *, now: Any) -> float:
    """Each default segment's matching query counted, no writes (the rules' own cost)."""
    moment = service.moment_of(now)
    async with ctx.db.sessions() as session:
        started = time.perf_counter()
        for segment in ctx.segments.segments:
            query = repository.matching(segment.rules, moment, None).subquery()
            await session.scalar(select(func.count()).select_from(query))
        return time.perf_counter() - started


async def figures(backend: str, suppliers: int, runs: int) -> dict[str, Any]:
    db = BenchDatabase(backend, DEFAULT_POSTGRES_URL)
    ctx = build_context(
        Settings(database_url=db.url, log_level="WARNING", secret_key=secrets.token_urlsafe(48))
    )
    out: dict[str, Any] = {}
    try:
        now = ctx.clock()
        started = time.perf_counter()
        _, ids = Seeder(db.url).seed(suppliers, seed=7, today=now.date(), now=now)
        await ctx.db.refresh_statistics()
        async with ctx.db.transaction() as session:
            await rescore_all(session=session, ctx=ctx, as_of=now.date())
        async with ctx.db.transaction() as session:  # evaluation starts from nothing
            await session.execute(delete(SegmentMembership))
            await session.execute(delete(OutboxEvent))
        if backend == "postgresql":  # what autovacuum does within a minute of the load
            with pg_connect(db.url, autocommit=True) as conn:
                conn.execute("ANALYZE")
        out["seeding"] = time.perf_counter() - started
        out["load before"] = _load()

        out["baseline"] = await _count_baseline(ctx, now=now)
        out["first"], results = await _evaluate(ctx, now=now)
        out["members"] = {r.key: r.members for r in results}
        repeats = [(await _evaluate(ctx, now=now))[0] for _ in range(runs)]
        out["unchanged"] = statistics.median(repeats)
        later = now + timedelta(days=7)
        out["week later"], moved = await _evaluate(ctx, now=later)
        out["moved"] = {r.key: (r.entered, r.exited) for r in moved}
        batches = [
            (await _evaluate(ctx, now=later, ids=ids[i * 64 : (i + 1) * 64]))[0] for i in range(20)
        ]
        out["batch"] = statistics.median(batches)
        async with ctx.db.sessions() as session:
            out["events"] = await session.scalar(select(func.count()).select_from(OutboxEvent))
        out["load after"] = _load()
    finally:
        await ctx.close()
        db.drop()
    return out


def _cell(seconds: float, goal: float | None = None) -> str:
    text = fmt_s(seconds)
    if goal is None:
        return text
    return f"[green]{text}[/]" if seconds < goal else f"[red]{text}[/]"


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_backend_option(parser)
    parser.add_argument("--suppliers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="unchanged re-evaluations")
    args = parser.parse_args(argv)
    backends = chosen_backends(args.backend)
    for backend in backends:
        console.rule(f"[bold]{backend}, {args.suppliers:,} suppliers")
        out = await figures(backend, args.suppliers, args.runs)
        console.print(f"seeding + one full rescore: {fmt_s(out['seeding'])}; {out['load before']}")
        console.print(
            "members after the first evaluation: "
            + ", ".join(f"{k} {v:,}" for k, v in out["members"].items())
        )
        console.print(
            "a week later (entered, exited): "
            + ", ".join(f"{k} {e:,}/{x:,}" for k, (e, x) in out["moved"].items())
        )
        table = Table("evaluation of the default segments", "time")
        table.add_row(
            "baseline: count(*) of each segment's rule, no writes", _cell(out["baseline"])
        )
        table.add_row("first evaluation (every member enters, events)", _cell(out["first"], GOAL))
        table.add_row(
            f"unchanged re-evaluation (median of {args.runs})", _cell(out["unchanged"], GOAL)
        )
        table.add_row("a week later (windows and tenures moved)", _cell(out["week later"], GOAL))
        table.add_row("one ingest batch of 64 suppliers (median of 20)", _cell(out["batch"]))
        console.print(table)
        console.print(f"outbox events written: {out['events']:,}; {out['load after']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
