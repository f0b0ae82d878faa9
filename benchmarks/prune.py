"""Raw-event retention: ``events prune`` of N old months, with and without ``--archive``,
and the bytes an event takes, on both backends.

Usage: ``.venv/bin/python benchmarks/prune.py [--backend sqlite|postgresql|both]
[--months 6] [--per-month 50000] [--suppliers 2000]``

For each backend, on a fresh migrated database: ``--months`` months of events (before the
current one) are written through the store's own bulk insert in batches of 5,000, then
pruned to the current month (PostgreSQL: each month's partition detached and dropped;
SQLite: deleted in chunks). Then the same events are written again and pruned with an
archive folder (each month to a gzip CSV first). Bytes/event: ``activity_events`` (every
partition, table and indexes) over the events stored, before the first prune.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from bench_cli import add_backend_option, chosen_backends
from bench_data import DEFAULT_POSTGRES_URL, BenchDatabase
from bench_timing import fmt_rate, fmt_s
from event_import import SHARES, TYPES, events_bytes, seed_suppliers
from wedsync_success.activity import repository
from wedsync_success.activity.models import RawEventHorizon
from wedsync_success.activity.retention import PRUNE_CHUNK, PruneReport, prune_raw_events
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context

console = Console()
BATCH = 5000


def _columns(
    rng: np.random.Generator, suppliers: list[uuid.UUID], start: datetime, n: int, first: int
) -> dict[str, list[Any]]:
    kinds = rng.choice(len(TYPES), size=n, p=SHARES)
    seconds = np.sort(rng.integers(0, 27 * 86_400, size=n))
    owners = rng.integers(len(suppliers), size=n)
    props = [
        {"amount": 900, "method": "card"} if TYPES[k] == "payment_received" else {} for k in kinds
    ]
    return {
        "event_id": [f"p-{first + i:010d}" for i in range(n)],
        "supplier_id": [suppliers[o] for o in owners],
        "user_id": [None] * n,
        "event_type": [TYPES[k] for k in kinds],
        "occurred_at": [start + timedelta(seconds=int(s)) for s in seconds],
        "value": [p.get("amount") for p in props],
        "properties": props,
    }


async def _fill(
    ctx: AppContext, suppliers: list[uuid.UUID], months: list[datetime], per: int
) -> int:
    rng = np.random.default_rng(20)
    stored = 0
    for m, month in enumerate(months):
        for first in range(0, per, BATCH):
            n = min(BATCH, per - first)
            async with ctx.db.transaction() as session:
                batch = await repository.open_batch(session, now=ctx.clock())
                await repository.insert_event_columns(
                    session, _columns(rng, suppliers, month, n, m * per + first), batch_id=batch
                )
            stored += n
    return stored


async def _delete_in_chunks(ctx: AppContext, before: datetime) -> PruneReport:
    """What ``events prune`` did before the partitions: DELETE in chunks of 20,000."""
    report = PruneReport()
    while True:
        async with ctx.db.transaction() as session:
            gone = await repository.delete_events_before(session, before, limit=PRUNE_CHUNK)
        report.deleted += gone
        if gone < PRUNE_CHUNK:
            return report


async def one_backend(backend: str, months: int, per: int, suppliers: int) -> list[list[str]]:
    db = BenchDatabase(backend, DEFAULT_POSTGRES_URL)
    rows = []
    try:
        ids = [uuid.UUID(i) for i in await seed_suppliers(db.url, suppliers)]
        ctx = build_context(Settings(database_url=db.url))
        this_month = repository.month_start(datetime.now(UTC))
        old = [this_month]
        for _ in range(months):
            old.insert(0, repository.month_start(old[0] - timedelta(days=1)))
        old = old[:-1]
        try:
            with tempfile.TemporaryDirectory(prefix="wedsync_prune_") as tmp:
                runs: list[tuple[str, Path | None]] = [
                    ("prune", None),
                    ("prune + archive", Path(tmp) / "archive"),
                ]
                if backend == "postgresql":
                    runs.append(("baseline: chunked DELETE (before 0020)", None))
                for label, archive in runs:
                    async with ctx.db.transaction() as session:
                        await session.execute(RawEventHorizon.__table__.delete())
                    console.print(f"[dim]{backend}: {months} months of {per:,} events…[/]")
                    count = await _fill(ctx, ids, old, per)
                    size = events_bytes(db.url)
                    started = time.perf_counter()
                    if label.startswith("baseline"):
                        report = await _delete_in_chunks(ctx, this_month)
                    else:
                        report = await prune_raw_events(ctx, before=this_month, archive=archive)
                    seconds = time.perf_counter() - started
                    archived = sum(p.stat().st_size for p in report.archived)
                    rows.append(
                        [
                            backend,
                            label,
                            f"{report.deleted:,} of {count:,}",
                            fmt_s(seconds),
                            fmt_rate(report.deleted / seconds, "events"),
                            f"{size / count:,.0f}",
                            f"{archived / count:,.1f}" if archive else "–",
                        ]
                    )
        finally:
            await ctx.close()
        return rows
    finally:
        db.drop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_backend_option(parser)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--per-month", type=int, default=50_000)
    parser.add_argument("--suppliers", type=int, default=2000)
    args = parser.parse_args()
    backends = chosen_backends(args.backend)
    table = Table(
        "backend",
        "run",
        "events removed",
        "time",
        "rate",
        "bytes/event stored",
        "archive bytes/event",
        title=f"events prune: {args.months} months of {args.per_month:,} events",
    )
    for backend in backends:
        for row in await one_backend(backend, args.months, args.per_month, args.suppliers):
            table.add_row(*row)
    console.print(table)


if __name__ == "__main__":
    asyncio.run(main())
