"""Performance figures of the WedSync Success spine, each next to a baseline from the same run.

Usage::

    .venv/bin/python benchmarks/spine.py [--backend sqlite|postgresql|both]
                                         [--full-sizes 10000,100000] [--quick]

For each backend a fresh database is created (SQLite: a temporary file; PostgreSQL: a
``wedsync_bench_<random>`` database, dropped at the end) and migrated, then four figures are
measured:

1. ingestion throughput through ``pipeline.ingest`` (with and without rescoring) vs a plain
   executemany INSERT of the same rows;
2. single-supplier ``health.service.recompute`` latency vs ``session.get(HealthScore, id)``;
3. full ``pipeline.rescore_all`` over seeded suppliers and 90 days of rollups vs the
   ``scoring_input`` aggregation query alone;
4. ``GET /api/v1/suppliers/{id}`` under 50 concurrent clients against a real server vs
   ``GET /healthz``.

Missed goals are shown in red; the exit status is non-zero only when something fails.
See ``benchmarks/README.md`` for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import Table as SqlTable
from sqlalchemy import func, insert, select

from bench_cli import add_backend_option, chosen_backends
from bench_data import (
    DEFAULT_POSTGRES_URL,
    BenchDatabase,
    Seeder,
    SeedStats,
    check_encoding,
    event_items,
    event_rows,
)
from bench_data import supplier_items as make_supplier_items
from bench_http import (
    Server,
    ServerTimes,
    client_for,
    fire,
    process_rss_mb,
    running_server,
    server_times,
)
from bench_timing import (
    Phase,
    PhaseTimes,
    breakdown_rows,
    fmt_ms,
    fmt_rate,
    fmt_s,
    p50_p99,
    profiled,
)
from wedsync_success import pipeline
from wedsync_success.access.service import create_key
from wedsync_success.activity import repository as activity_repository
from wedsync_success.activity import service as activity_service
from wedsync_success.activity.models import ActivityEvent
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.health import repository as health_repository
from wedsync_success.health import service as health_service
from wedsync_success.health.models import HealthScore
from wedsync_success.milestones import repository as milestones_repository
from wedsync_success.milestones import service as milestones_service
from wedsync_success.suppliers.service import upsert_batch

SINGLE_GOAL_SECONDS = 0.005
FULL_GOAL_SECONDS = 10.0
FULL_GOAL_SIZE = 100_000

console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)

# Product functions timed for the "where the time goes" tables (patched only while measuring).
SCORING_INPUT = "scoring_input (aggregation query)"
DETECT_PHASES = [
    Phase(pipeline, "detect", "detect milestones"),
    Phase(milestones_repository, "newly_met", "newly_met queries (8 definitions)", 1),
    Phase(milestones_repository, "record", "record achievements", 1),
    Phase(milestones_service, "enqueue", "outbox: milestone events", 1),
]
RECOMPUTE_PHASES = [
    Phase(pipeline, "recompute", "recompute scores"),
    Phase(health_repository, "scoring_input", SCORING_INPUT, 1),
    Phase(health_service, "compute", "compute components (NumPy)", 1),
    Phase(health_repository, "write_history", "write health_score_history", 1),
    Phase(health_repository, "write_current", "write health_scores", 1),
    Phase(health_service, "enqueue", "outbox: change events", 1),
]
INGEST_PHASES = [
    Phase(pipeline, "store_batch", "store batch"),
    Phase(activity_service, "parse_batch", "validate items (fast path, pydantic for the rest)", 1),
    Phase(activity_repository, "existing_supplier_ids", "check suppliers exist", 1),
    Phase(activity_repository, "insert_event_columns", "insert events", 1),
    Phase(activity_repository, "roll_up_batch", "roll up (daily + lifetime totals)", 1),
    *DETECT_PHASES,
    *RECOMPUTE_PHASES,
]
RESCORE_PHASES = [*DETECT_PHASES, *RECOMPUTE_PHASES]
SINGLE_PHASES = [
    Phase(health_service, "recompute", "recompute scores"),
    *RECOMPUTE_PHASES[1:],
]


@dataclass(frozen=True)
class Options:
    """What to run, from the command line."""

    backends: list[str]
    sizes: list[int]
    ingest_suppliers: int
    ingest_batches: int
    batch_size: int
    latency_runs: int
    http_requests: int
    concurrency: int
    postgres_url: str
    seed: int


@dataclass(frozen=True)
class Result:
    """One line of a figures table; ``key`` lines it up across backends in the summary."""

    key: str
    figure: str
    measured: str
    baseline: str = "—"
    overhead: str = ""
    goal: str = ""
    goal_met: bool | None = None  # None: no goal for this figure

    @property
    def goal_cell(self) -> str:
        if self.goal_met is None:
            return ""
        return f"[green]✓ {self.goal}[/]" if self.goal_met else f"[bold red]✗ {self.goal}[/]"

    @property
    def measured_cell(self) -> str:
        """The measured value, green when it meets its goal and red when it misses it."""
        if self.goal_met is None:
            return self.measured
        return f"[green]{self.measured}[/]" if self.goal_met else f"[bold red]{self.measured}[/]"


@dataclass
class Breakdown:
    """A "where the time goes" table: one column of phase times per measured run."""

    title: str
    phases: Sequence[Phase]
    columns: list[tuple[str, PhaseTimes]] = field(default_factory=list)


@dataclass
class BackendReport:
    """Everything measured on one backend."""

    backend: str
    results: list[Result] = field(default_factory=list)
    seeding: list[tuple[str, SeedStats]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    memory: list[tuple[str, float, float]] = field(default_factory=list)
    """(step, RSS in MB of this process right after the step, peak RSS so far)."""
    server_rss_mb: float | None = None
    breakdowns: list[Breakdown] = field(default_factory=list)
    seconds: float = 0.0


def _ratio(cost: float, baseline_cost: float) -> str:
    return f"{cost / baseline_cost:,.1f}×" if baseline_cost > 0 else "—"


def log(backend: str, message: str) -> None:
    """A progress line with the time and this process's memory."""
    current, peak = process_rss_mb()
    console.log(f"[cyan]{backend}[/] {message}  [dim](RSS {current:,.0f} MB, peak {peak:,.0f})[/]")


# --- databases ----------------------------------------------------------------------------------


# --- the figures --------------------------------------------------------------------------------


class BackendBench:
    """Runs every figure on one backend."""

    def __init__(self, backend: str, options: Options) -> None:
        self.backend = backend
        self.o = options
        self.report = BackendReport(backend)
        self.servers: list[Server] = []
        self.rng = np.random.default_rng(options.seed)

    async def run(self) -> BackendReport:
        """Create and migrate the database, measure every figure, drop the database."""
        started = time.perf_counter()
        db = BenchDatabase(self.backend, self.o.postgres_url)
        ctx = build_context(Settings(database_url=db.url, log_level="WARNING"))
        try:
            today = ctx.clock().date()
            seeder = Seeder(db.url)
            await check_encoding(ctx, seeder, today=today)
            log(self.backend, "raw fixture encoding matches the ORM's (both ways)")

            ids = await self.ingestion(ctx)
            self.mark("ingest")
            await self.single_supplier(ctx, ids, today)
            self.mark("single-supplier")
            http_size = min(self.o.sizes)
            for size in sorted(self.o.sizes):
                seeder.reset()
                stats, seeded = seeder.seed(
                    size, seed=self.o.seed + size, today=today, now=ctx.clock()
                )
                await ctx.db.refresh_statistics()  # as the product does after a bulk load
                self.report.seeding.append((f"{size:,} suppliers", stats))
                self.mark(f"seed {size:,}")
                log(
                    self.backend,
                    f"seeded {size:,} suppliers + {stats.rollups:,} rollup rows "
                    f"in {fmt_s(stats.seconds)}",
                )
                await self.full_recompute(ctx, size, today)
                self.mark(f"recompute {size:,}")
                if size == http_size:
                    await self.http(ctx, db.url, size, seeded)
                    self.mark("HTTP")
        finally:
            await ctx.close()
            db.drop()
        self.report.seconds = time.perf_counter() - started
        self.report.server_rss_mb = max(
            (s.peak_rss_mb for s in self.servers if s.peak_rss_mb is not None), default=None
        )
        return self.report

    def mark(self, step: str) -> None:
        """Remember this process's memory right after ``step``."""
        self.report.memory.append((step, *process_rss_mb()))

    # 1. ingestion

    async def ingestion(self, ctx: AppContext) -> list[uuid.UUID]:
        """Figure 1: register suppliers, then ingest (full path, bulk path, plain INSERT).

        Returns the registered supplier ids for the single-supplier figure.
        """
        o = self.o
        items = make_supplier_items(o.ingest_suppliers, self.rng, tag="ingest")
        started = time.perf_counter()
        for start in range(0, len(items), 1000):
            async with ctx.db.transaction() as session:
                result = await upsert_batch(
                    session=session, items=items[start : start + 1000], now=ctx.clock()
                )
            if result.rejected:
                raise RuntimeError(f"supplier registration rejected items: {result.errors[:3]}")
        register = time.perf_counter() - started
        ids = [str(item["id"]) for item in items]
        self.report.results.append(
            Result(
                "register",
                f"Register {len(ids):,} suppliers (upsert_batch, 1,000/tx)",
                f"{fmt_rate(len(ids) / register, 'suppliers')} ({fmt_s(register)})",
            )
        )

        def batches(tag: str, count: int) -> list[list[dict[str, Any]]]:
            return [event_items(ids, o.batch_size, self.rng, tag=f"{tag}{b}") for b in range(count)]

        full = batches("full", o.ingest_batches + 1)  # the first batch of each is a warm-up
        bulk = batches("bulk", o.ingest_batches + 1)
        plain = batches("plain", o.ingest_batches + 1)
        events = o.ingest_batches * o.batch_size

        log(self.backend, f"ingest: {o.ingest_batches} × {o.batch_size:,} events, full path")
        full_s, full_times = await self._ingest(ctx, full, rescore=True)
        log(self.backend, "ingest: bulk path (rescore=False)")
        bulk_s, bulk_times = await self._ingest(ctx, bulk, rescore=False)
        log(self.backend, "ingest: baseline executemany INSERT")
        plain_s = await self._plain_insert(ctx, plain)

        plain_total = sum(plain_s)
        for key, label, seconds in (
            ("ingest_full", "Ingest, full path (rollups + milestones + rescore)", full_s),
            ("ingest_bulk", "Ingest, bulk path (rescore=False)", bulk_s),
        ):
            total = sum(seconds)
            p50, p99 = p50_p99(seconds)
            self.report.results.append(
                Result(
                    key,
                    label,
                    f"{fmt_rate(events / total, 'events')}  (batch p50 {fmt_ms(p50)}, "
                    f"p99 {fmt_ms(p99)})",
                    f"{fmt_rate(events / plain_total, 'events')}  (batch p50 "
                    f"{fmt_ms(p50_p99(plain_s)[0])})",
                    _ratio(total, plain_total),
                )
            )
        self.report.breakdowns.append(
            Breakdown(
                f"Ingest ({o.ingest_batches} batches of {o.batch_size:,}): where the time goes",
                INGEST_PHASES,
                [("full path", full_times), ("rescore=False", bulk_times)],
            )
        )
        return [uuid.UUID(i) for i in ids]

    async def _ingest(
        self, ctx: AppContext, batches: list[list[dict[str, Any]]], *, rescore: bool
    ) -> tuple[list[float], PhaseTimes]:
        """Ingest every batch in its own transaction; the first one is an untimed warm-up."""
        times = PhaseTimes()
        seconds: list[float] = []
        for n, batch in enumerate(batches):
            warm_up = n == 0
            with profiled(INGEST_PHASES, times if not warm_up else PhaseTimes()):
                started = time.perf_counter()
                async with ctx.db.transaction() as session:
                    result = await pipeline.ingest(
                        session=session, ctx=ctx, items=batch, rescore=rescore
                    )
                    body_done = time.perf_counter()
                finished = time.perf_counter()
            if result.accepted != len(batch):
                raise RuntimeError(f"ingest accepted {result.accepted} of {len(batch)}: {result}")
            if not warm_up:
                times.add("commit", finished - body_done)
                seconds.append(finished - started)
        times.wall = sum(seconds)
        return seconds, times

    async def _plain_insert(
        self, ctx: AppContext, batches: list[list[dict[str, Any]]]
    ) -> list[float]:
        """Baseline: executemany INSERT of the rows ``store_batch`` would write, no extras."""
        table = cast(SqlTable, ActivityEvent.__table__)
        seconds: list[float] = []
        for n, batch in enumerate(batches):
            started = time.perf_counter()
            async with ctx.db.transaction() as session:
                batch_id = await activity_repository.open_batch(session, now=ctx.clock())
                await session.execute(insert(table), event_rows(batch, batch_id=batch_id))
            if n:
                seconds.append(time.perf_counter() - started)
        return seconds

    # 2. single-supplier latency

    async def single_supplier(self, ctx: AppContext, ids: list[uuid.UUID], today: date) -> None:
        """Figure 2: one supplier's ``recompute`` per transaction vs a primary-key read."""
        runs = self.o.latency_runs
        log(self.backend, f"single-supplier rescore × {runs} (interleaved with the baseline)")
        defined = len(ctx.milestones.milestones)
        chosen = [ids[i] for i in self.rng.integers(len(ids), size=runs + 20)]
        measured: list[float] = []
        baseline: list[float] = []
        times = PhaseTimes()
        for n, sid in enumerate(chosen):
            warm_up = n < 20
            with profiled(SINGLE_PHASES, PhaseTimes() if warm_up else times):
                started = time.perf_counter()
                async with ctx.db.transaction() as session:
                    summary = await health_service.recompute(
                        session=session,
                        config=ctx.health,
                        milestones_defined=defined,
                        as_of=today,
                        supplier_ids=[sid],
                        now=ctx.clock(),
                    )
                    body_done = time.perf_counter()
                middle = time.perf_counter()
            async with ctx.db.transaction() as session:
                score = await session.get(HealthScore, sid)
            finished = time.perf_counter()
            if summary.scored != 1 or score is None:
                raise RuntimeError(f"supplier {sid} was not scored: {summary}")
            if not warm_up:
                measured.append(middle - started)
                baseline.append(finished - middle)
                times.add("commit", middle - body_done)
        times.wall = sum(measured)
        self.report.breakdowns.append(
            Breakdown(
                f"Single-supplier rescore ({runs} runs, totals): where the time goes",
                SINGLE_PHASES,
                [("all runs", times)],
            )
        )
        (m50, m99), (b50, b99) = p50_p99(measured), p50_p99(baseline)
        for key, label, m, b in (
            ("single_p50", "Single-supplier rescore, p50 (own tx, commit incl.)", m50, b50),
            ("single_p99", "Single-supplier rescore, p99", m99, b99),
        ):
            self.report.results.append(
                Result(
                    key,
                    label,
                    fmt_ms(m),
                    f"{fmt_ms(b)} (get HealthScore)",
                    _ratio(m, b),
                    "< 5 ms",
                    m < SINGLE_GOAL_SECONDS,
                )
            )

    # 3. full recompute

    async def full_recompute(self, ctx: AppContext, size: int, today: date) -> None:
        """Figure 3: ``rescore_all`` twice over the seeded database; baseline: its query."""
        runs: list[tuple[float, PhaseTimes]] = []
        for run in (1, 2):
            log(self.backend, f"rescore_all over {size:,} suppliers, run {run}")
            times = PhaseTimes()
            with profiled(RESCORE_PHASES, times):
                started = time.perf_counter()
                async with ctx.db.transaction() as session:
                    summary = await pipeline.rescore_all(session=session, ctx=ctx, as_of=today)
                    body_done = time.perf_counter()
                finished = time.perf_counter()
            times.add("commit", finished - body_done)
            times.wall = finished - started
            if summary.scored != size:
                raise RuntimeError(f"rescore_all scored {summary.scored} of {size} suppliers")
            runs.append((times.wall, times))
        async with ctx.db.sessions() as session:
            active = await session.scalar(
                select(func.count())
                .select_from(HealthScore)
                .where(HealthScore.engagement_signal > 0)
            )
        if not active:
            raise RuntimeError("no supplier shows any activity: the seeded rollups were not seen")
        labels = ("run 1: no previous scores", "run 2: updates + history")
        for (seconds, times), label, key in zip(runs, labels, ("full1", "full2"), strict=True):
            query = times.seconds[SCORING_INPUT]
            has_goal = size == FULL_GOAL_SIZE
            self.report.results.append(
                Result(
                    f"{key}_{size}",
                    f"Full recompute {size:,} suppliers, {label}",
                    f"{fmt_s(seconds)} ({fmt_rate(size / seconds, 'suppliers')})",
                    f"{fmt_s(query)} (its scoring_input)",
                    _ratio(seconds, query),
                    "< 10 s" if has_goal else "",
                    seconds < FULL_GOAL_SECONDS if has_goal else None,
                )
            )
        self.report.breakdowns.append(
            Breakdown(
                f"Full recompute of {size:,} suppliers: where the time goes",
                RESCORE_PHASES,
                [("run 1", runs[0][1]), ("run 2", runs[1][1])],
            )
        )

    # 4. HTTP

    async def http(self, ctx: AppContext, url: str, size: int, ids: list[uuid.UUID]) -> None:
        """Figure 4: the supplier profile under concurrent load vs ``/healthz``, real server."""
        o = self.o
        async with ctx.db.transaction() as session:
            key = await create_key(session=session, name="bench", scopes=["read"], now=ctx.clock())
        log(self.backend, f"HTTP: starting the API server on the {size:,}-supplier database")
        route = "/api/v1/suppliers/{supplier_id}"
        with running_server(url) as server:
            self.servers.append(server)
            async with client_for(server, api_key=key.secret, concurrency=o.concurrency) as client:
                warm = 100  # opens the pool's connections, client- and server-side
                picks = self.rng.integers(len(ids), size=o.http_requests + warm).tolist()
                paths = [f"/api/v1/suppliers/{ids[i]}" for i in picks]
                await fire(client, ["/healthz"] * warm, concurrency=o.concurrency)
                log(self.backend, f"HTTP: {o.http_requests:,} × GET /healthz (baseline)")
                before = await server_times(client, "/healthz")
                base = await fire(client, ["/healthz"] * o.http_requests, concurrency=o.concurrency)
                base_server = await server_times(client, "/healthz") - before
                await fire(client, paths[:warm], concurrency=o.concurrency)
                log(self.backend, f"HTTP: {o.http_requests:,} × GET /api/v1/suppliers/{{id}}")
                before = await server_times(client, route)
                real = await fire(client, paths[warm:], concurrency=o.concurrency)
                real_server = await server_times(client, route) - before
        for result, what in ((base, "/healthz"), (real, "/api/v1/suppliers/{id}")):
            if result.failures:
                raise RuntimeError(f"GET {what}: non-200 responses {result.statuses}")
        (r50, r99), (b50, b99) = p50_p99(real.latencies), p50_p99(base.latencies)
        label = f"GET /suppliers/{{id}}, {o.concurrency} clients, {size:,} suppliers"

        def server_side(t: ServerTimes) -> str:
            return f"{fmt_ms(t.mean)} (p99≈{fmt_ms(t.quantile(0.99))})"

        self.report.results += [
            Result(
                "http_p50",
                f"{label}, p50",
                fmt_ms(r50),
                f"{fmt_ms(b50)} (/healthz)",
                _ratio(r50, b50),
            ),
            Result(
                "http_p99",
                f"{label}, p99",
                fmt_ms(r99),
                f"{fmt_ms(b99)} (/healthz)",
                _ratio(r99, b99),
            ),
            Result(
                "http_rps",
                f"{label}, throughput",
                fmt_rate(real.throughput, "req"),
                fmt_rate(base.throughput, "req"),
                _ratio(base.throughput, real.throughput),
            ),
            Result(
                "http_server",
                "  … server-side time per request, mean (from /metrics)",
                server_side(real_server),
                server_side(base_server),
                _ratio(real_server.mean, base_server.mean),
            ),
        ]
        for result, what in ((base, "/healthz"), (real, "/suppliers/{id}")):
            self.report.notes.append(
                f"HTTP load generator (httpx, this process) used {result.client_cpu:.1f} s CPU "
                f"over {result.wall:.1f} s wall for {what} "
                f"({result.client_cpu / len(result.latencies) * 1000:.2f} ms CPU/request, "
                f"{result.client_cpu / result.wall:.0%} of one core)"
            )


# --- output -------------------------------------------------------------------------------------


def print_report(report: BackendReport) -> None:
    """The figures table of one backend, then notes, fixtures and breakdowns."""
    table = Table(
        title=f"WedSync Success spine — {report.backend} ({fmt_s(report.seconds)})",
        title_justify="left",
    )
    table.add_column("Figure")
    table.add_column("Measured", justify="right")
    table.add_column("Baseline (same run)", justify="right")
    table.add_column("Cost ÷ baseline", justify="right")
    table.add_column("Goal")
    for r in report.results:
        table.add_row(r.figure, r.measured_cell, r.baseline, r.overhead, r.goal_cell)
    console.print(table)
    for note in report.notes:
        console.print(f"  note: {note}")
    console.print(
        "  memory: RSS of this process after each step (peak so far): "
        + ", ".join(f"{step} {mb:,.0f} ({peak:,.0f}) MB" for step, mb, peak in report.memory)
        + (
            f"; API server peak RSS {report.server_rss_mb:,.0f} MB"
            if report.server_rss_mb is not None
            else ""
        )
    )
    for label, stats in report.seeding:
        console.print(
            f"  fixture (not a figure): seeded {label} and {stats.rollups:,} daily_rollups rows "
            f"in {fmt_s(stats.seconds)} ({stats.describe()})"
        )
    for breakdown in report.breakdowns:
        print_breakdown(breakdown)


def print_breakdown(breakdown: Breakdown) -> None:
    """Seconds and share of the wall time per product function, one column per run."""
    table = Table(title=breakdown.title, title_justify="left", title_style="bold")
    table.add_column("Step (product function)")
    columns = []
    for title, times in breakdown.columns:
        table.add_column(title, justify="right")
        columns.append((times, breakdown_rows(breakdown.phases, times, extra=("commit",))))
    for i, (label, depth, _) in enumerate(columns[0][1]):
        cells = []
        for times, rows in columns:
            seconds = rows[i][2]
            share = seconds / times.wall * 100 if times.wall else 0.0
            cells.append(f"{fmt_s(seconds)} {share:5.1f}%")
        style = "dim" if label.startswith("other") else None
        table.add_row("  " * depth + label, *cells, style=style)
    table.add_row(
        "[bold]total (wall)[/]", *(f"[bold]{fmt_s(times.wall)}[/]" for times, _ in columns)
    )
    console.print(table)


def print_summary(reports: list[BackendReport]) -> None:
    """Every figure side by side across backends."""
    table = Table(title="Summary across backends", title_justify="left", title_style="bold")
    table.add_column("Figure")
    for report in reports:
        table.add_column(report.backend, justify="right")
    keys: dict[str, str] = {}
    for report in reports:
        for r in report.results:
            keys.setdefault(r.key, r.figure)
    for key, figure in keys.items():
        cells = []
        for report in reports:
            found = next((r for r in report.results if r.key == key), None)
            cells.append(found.measured_cell if found else "—")
        table.add_row(figure, *cells)
    table.add_row("Wall time of the backend's run", *(fmt_s(r.seconds) for r in reports))
    console.print(table)


def peak_rss(reports: Sequence[BackendReport]) -> str:
    """Peak resident memory of this process and of the API server subprocesses."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    servers = [r.server_rss_mb for r in reports if r.server_rss_mb is not None]
    server = f"; API server (subprocess) {max(servers):,.0f} MB" if servers else ""
    return f"Peak RSS: benchmark process {own:,.0f} MB (resource.getrusage){server}"


# --- entry point --------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> Options:
    """Options from the command line (``--quick`` scales every figure down)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_backend_option(parser)
    parser.add_argument(
        "--full-sizes",
        default=None,
        help="comma-separated supplier counts for the full recompute (default 10000,100000; "
        "--quick: 2000); the HTTP figure runs on the smallest",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a fast smoke run: 5 ingest batches, 100 latency runs, 400 HTTP requests",
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="an existing PostgreSQL database to connect to for CREATE/DROP DATABASE",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed of the generated data")
    args = parser.parse_args(argv)
    sizes_text = args.full_sizes or ("2000" if args.quick else "10000,100000")
    try:
        sizes = sorted({int(s.replace("_", "")) for s in sizes_text.split(",") if s.strip()})
    except ValueError:
        parser.error(f"--full-sizes: not a list of integers: {sizes_text!r}")
    if not sizes or min(sizes) < 1:
        parser.error("--full-sizes needs at least one positive size")
    return Options(
        backends=chosen_backends(args.backend),
        sizes=sizes,
        ingest_suppliers=2000,
        ingest_batches=5 if args.quick else 30,
        batch_size=1000,
        latency_runs=100 if args.quick else 500,
        http_requests=400 if args.quick else 2000,
        concurrency=50,
        postgres_url=args.postgres_url,
        seed=args.seed,
    )


async def run_all(options: Options) -> list[BackendReport]:
    """Run the backends one after the other, printing each one's report as it finishes."""
    reports = []
    for backend in options.backends:
        report = await BackendBench(backend, options).run()
        print_report(report)
        reports.append(report)
    return reports


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; an exception (a real failure) propagates and exits non-zero."""
    options = parse_args(argv)
    started = time.perf_counter()
    reports = asyncio.run(run_all(options))
    if len(reports) > 1:
        print_summary(reports)
    console.print(peak_rss(reports))
    console.print(f"Total wall time: {fmt_s(time.perf_counter() - started)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
