"""Concurrent producers of 500-event batches against a real API server (127.0.0.1).

Usage::

    .venv/bin/python benchmarks/concurrency.py                  # PostgreSQL, then SQLite
    .venv/bin/python benchmarks/concurrency.py --backend postgresql --duration 10

For each backend: a fresh migrated database, 50 registered suppliers per level, and
``wedsync-success serve`` (uvicorn, one worker, outbox dispatcher on). Then, per concurrency
level (1, 2, 5, 20, 50 producers), every producer posts ``POST /events`` batches of 500
events, one after another, for ``--duration`` seconds (requests in flight at the deadline
finish and count). All producers of a level write the same 50 suppliers (each level its
own 50, so every level starts from the same history), and half of every batch's
events are also in another producer's batch (a chunk of 250 events is posted by two
producers), so batches contend for the same rows: that deadlocked PostgreSQL before
writers took their locks in one order.

Printed per level: requests, responses other than 200 by status (the goal is none),
events posted per second and new events stored per second, request p50/p99 (client side).
After the run the stored events and the rollups are checked against what the server
acknowledged. The exit status is non-zero when any request failed or a count is off.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from bench_data import BenchDatabase
from bench_http import client_for, running_server
from bench_timing import fmt_ms, p50_p99
from wedsync_success.access.service import create_key
from wedsync_success.activity.models import ActivityEvent, DailyRollup
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.suppliers.service import upsert_batch

POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
LEVELS = (1, 2, 5, 20, 50)
BATCH = 500
SUPPLIERS = 50
TYPES = ("login", "message_sent", "client_added", "form_submitted", "payment_received")

console = Console()


class EventSource:
    """Batches for every producer: half new events, half a chunk another producer posts too.

    A shared chunk is made by one producer and posted by the next one that asks, so each
    overlapping event is sent exactly twice, by two different producers when there are two.
    """

    def __init__(self, suppliers: list[str], seed: int) -> None:
        self._suppliers = suppliers
        self._rng = random.Random(seed)
        self._pending: list[list[dict[str, Any]]] = []
        self._now = datetime.now(UTC)

    def _events(self, count: int) -> list[dict[str, Any]]:
        rng, out = self._rng, []
        for _ in range(count):
            kind = rng.choice(TYPES)
            out.append(
                {
                    "event_id": f"bench-{uuid.uuid4()}",
                    "supplier_id": rng.choice(self._suppliers),
                    "type": kind,
                    "occurred_at": (
                        self._now - timedelta(days=rng.randrange(60), seconds=rng.randrange(86400))
                    ).isoformat(),
                    "properties": (
                        {"amount": rng.randrange(100, 9000)} if kind == "payment_received" else {}
                    ),
                }
            )
        return out

    def batch(self) -> list[dict[str, Any]]:
        half = BATCH // 2
        if self._pending:
            shared = self._pending.pop(0)
        else:
            shared = self._events(half)
            self._pending.append(shared)
        batch = [*shared, *self._events(BATCH - half)]
        self._rng.shuffle(batch)
        return batch


@dataclass
class LevelResult:
    level: int
    latencies: list[float]
    statuses: Counter[int]
    posted: int
    accepted: int
    wall: float


async def run_level(
    client: httpx.AsyncClient, source: EventSource, level: int, duration: float
) -> LevelResult:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    totals = {"posted": 0, "accepted": 0}
    deadline = time.perf_counter() + duration

    async def producer() -> None:
        while time.perf_counter() < deadline:
            batch = source.batch()
            started = time.perf_counter()
            try:
                response = await client.post("/api/v1/events", json={"events": batch})
            except httpx.TransportError as exc:
                statuses[-1] += 1
                console.print(f"[red]transport error: {exc!r}[/]")
                continue
            latencies.append(time.perf_counter() - started)
            statuses[response.status_code] += 1
            totals["posted"] += len(batch)
            if response.status_code == 200:
                totals["accepted"] += int(response.json()["accepted"])
            elif statuses[response.status_code] <= 3:
                console.print(f"[red]{response.status_code}: {response.text[:300]}[/]")

    started = time.perf_counter()
    await asyncio.gather(*(producer() for _ in range(level)))
    wall = time.perf_counter() - started
    return LevelResult(level, latencies, statuses, totals["posted"], totals["accepted"], wall)


async def _prepare(ctx: AppContext, count: int) -> tuple[str, list[str]]:
    now = ctx.clock()
    signed_up = (now - timedelta(days=200)).isoformat()
    items = [
        {
            "business_name": f"Bench Supplier {i}",
            "vendor_type": "photographer",
            "country": "GB",
            "signed_up_at": signed_up,
            "plan_tier": "professional",
            "mrr_minor": 4900,
            "currency": "GBP",
            "subscription_status": "active",
        }
        for i in range(count)
    ]
    async with ctx.db.transaction() as session:
        result = await upsert_batch(session=session, items=items, now=now)
        key = await create_key(session=session, name="bench", scopes=["ingest"], now=now)
    assert result.rejected == 0, result.errors
    return key.secret, [str(i) for i in result.ids]


async def _stored(ctx: AppContext) -> tuple[int, int]:
    async with ctx.db.sessions() as session:
        events = await session.scalar(select(func.count()).select_from(ActivityEvent))
        rolled = await session.scalar(select(func.coalesce(func.sum(DailyRollup.count), 0)))
    return int(events or 0), int(rolled or 0)


def merge(runs: Sequence[LevelResult]) -> LevelResult:
    """One level's runs taken together (``--rounds``): counts and wall times add up."""
    statuses: Counter[int] = Counter()
    for r in runs:
        statuses.update(r.statuses)
    return LevelResult(
        runs[0].level,
        [t for r in runs for t in r.latencies],
        statuses,
        sum(r.posted for r in runs),
        sum(r.accepted for r in runs),
        sum(r.wall for r in runs),
    )


def throughput_ratio(results: Sequence[LevelResult], *, high: int, low: int) -> float | None:
    """Events posted per second at ``high`` producers over that at ``low``, if both ran."""
    rates = {r.level: r.posted / r.wall for r in results}
    if high not in rates or low not in rates:
        return None
    return rates[high] / rates[low]


async def run_backend(backend: str, duration: float, levels: Sequence[int], rounds: int) -> bool:
    db = BenchDatabase(backend, POSTGRES_URL)
    ctx = build_context(Settings(database_url=db.url, log_level="WARNING"))
    ok = True
    try:
        # Each level writes its own 50 suppliers: the cost of a batch grows with the
        # supplier's history (milestone detection ranks its events), so levels sharing
        # suppliers would compare a young database with an old one.
        # Every other round runs the levels in reverse: the database grows with each level,
        # and a level always run after another would always meet the bigger database.
        schedule = [
            level
            for r in range(rounds)
            for level in (levels if r % 2 == 0 else list(reversed(levels)))
        ]
        api_key, suppliers = await _prepare(ctx, SUPPLIERS * (len(schedule) + 1))
        sets = [suppliers[i * SUPPLIERS : (i + 1) * SUPPLIERS] for i in range(len(schedule) + 1)]
        runs: list[LevelResult] = []
        with running_server(db.url) as server:
            async with client_for(server, api_key=api_key, concurrency=max(levels)) as client:
                client.timeout = httpx.Timeout(120.0)
                warm_up_batch = EventSource(sets[0], seed=0).batch()
                warm_up = await client.post("/api/v1/events", json={"events": warm_up_batch})
                assert warm_up.status_code == 200, warm_up.text
                acknowledged = int(warm_up.json()["accepted"])
                for n, level in enumerate(schedule, start=1):
                    source = EventSource(sets[n], seed=n)
                    runs.append(await run_level(client, source, level, duration))
                    console.print(f"  {backend}: {level} producers done")
                metrics = (await client.get("/metrics")).text
            retried = [
                line
                for line in metrics.splitlines()
                if line.startswith(
                    ("wedsync_transaction_retries_total{", "wedsync_transaction_unavailable_total ")
                )
            ]
            if any(set(r.statuses) - {200} for r in runs):
                log = server.log_path.read_text(errors="replace")
                console.print(f"[red]--- server log (last 6,000 characters) ---[/]\n{log[-6000:]}")
        stored, rolled = await _stored(ctx)
    finally:
        await ctx.close()
        db.drop()
    results = [merge([r for r in runs if r.level == level]) for level in levels]

    table = Table(
        "producers",
        "requests",
        "non-200",
        "events/s posted",
        "new events/s",
        "p50",
        "p99",
        title=f"{backend}: concurrent producers of {BATCH}-event batches, half overlapping "
        f"({duration:g} s per level x {rounds} round(s), {SUPPLIERS} suppliers)",
    )
    for r in results:
        failed = {s: n for s, n in r.statuses.items() if s != 200}
        ok &= not failed
        p50, p99 = p50_p99(r.latencies) if r.latencies else (float("nan"),) * 2
        table.add_row(
            str(r.level),
            str(sum(r.statuses.values())),
            ", ".join(f"{n}x {s}" for s, n in sorted(failed.items())) or "[green]0[/]",
            f"{r.posted / r.wall:,.0f}",
            f"{r.accepted / r.wall:,.0f}",
            fmt_ms(p50),
            fmt_ms(p99),
        )
    console.print(table)
    console.print("Server-side retries: " + ("; ".join(retried) or "none"))
    ratio = throughput_ratio(results, high=20, low=2)
    if ratio is not None:
        per_round = [
            throughput_ratio(runs[i : i + len(levels)], high=20, low=2)
            for i in range(0, len(runs), len(levels))
        ]
        console.print(
            f"Throughput at 20 producers / at 2: {ratio:.2f}"
            + (f" (rounds: {', '.join(f'{r:.2f}' for r in per_round if r)})" if rounds > 1 else "")
        )
        verdict = "[green]PASS[/]" if ratio >= 1 else "[red]MISS[/]"
        console.print(f"{verdict} {backend}: goal 20-producer throughput >= 2-producer")
    acknowledged += sum(r.accepted for r in runs)
    counts_ok = rolled == stored == acknowledged
    ok &= counts_ok
    console.print(
        f"Stored events {stored:,}, rolled up {rolled:,}, acknowledged as new {acknowledged:,}: "
        f"{'[green]consistent[/]' if counts_ok else '[red]OFF[/]'}"
    )
    return ok


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="both")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per level")
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)))
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the levels this many times, interleaved, and report them together "
        "(steadier on a shared machine)",
    )
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    backends = ("postgresql", "sqlite") if args.backend == "both" else (args.backend,)
    ok = True
    for backend in backends:
        ok &= await run_backend(backend, args.duration, levels, args.rounds)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
