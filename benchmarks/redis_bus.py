"""The success-event bus on Redis Streams beside the in-process transport, in the same run.

Usage::

    .venv/bin/python benchmarks/redis_bus.py                      # PostgreSQL, 200 + 5,000
    .venv/bin/python benchmarks/redis_bus.py --backend sqlite --latency-count 100 --burst 2000

Per transport (``memory://``, then ``redis://``), on a fresh migrated database, with one
consumer that notes when it is handed each event (a receipt per event, as every consumer):

1. **Latency** outbox → consumer: one event at a time is committed to the outbox and the
   dispatcher woken, as the API does after a commit; the clock stops when the consumer has
   it. On Redis that is outbox → ``XADD`` → ``XREADGROUP`` by a stream worker → consumer
   (the worker runs in this process, on its own connections). Goal: p99 < 50 ms.
2. **Dispatcher throughput**: ``--burst`` events committed at once, then the dispatcher alone
   drains them (no worker running): events/s from the outbox to Redis, marked published. For
   ``memory://`` the same drain runs the consumer in-process, so it is the baseline.
3. **End to end**: the stream worker then hands those events to the consumer: events/s until
   it has them all (for ``memory://``, the drain above already did).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from rich.console import Console
from rich.table import Table

from bench_data import BenchDatabase
from bench_timing import fmt_ms, fmt_rate, p50_p99
from wedsync_success.db import create_database
from wedsync_success.events.bus import InProcessTransport, Transport
from wedsync_success.events.dispatcher import Dispatcher
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.redis_transport import RedisStreamTransport
from wedsync_success.events.types import NewEvent, SuccessEvent, SuccessEventType
from wedsync_success.kit.clock import utc_now
from wedsync_success.kit.logging import configure_logging

POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
console = Console()


class Probe:
    """The consumer: when each event arrived (perf_counter), and a waiter to wake."""

    def __init__(self) -> None:
        self.arrived: dict[uuid.UUID, float] = {}
        self.changed = asyncio.Event()

    async def __call__(self, event: SuccessEvent) -> None:
        self.arrived.setdefault(event.event_id, time.perf_counter())
        self.changed.set()

    async def wait_for(self, count: int, within: float) -> None:
        async with asyncio.timeout(within):
            while len(self.arrived) < count:
                self.changed.clear()
                if len(self.arrived) >= count:
                    break
                await self.changed.wait()


async def emit(db: Any, count: int) -> None:
    now = utc_now()
    events = [
        NewEvent(
            event_type=SuccessEventType.MILESTONE_ACHIEVED,
            supplier_id=uuid.uuid4(),
            occurred_at=now,
            payload={"milestone": "bench"},
        )
        for _ in range(count)
    ]
    async with db.transaction() as session:
        await enqueue(session=session, events=events, now=now)


async def run_transport(url: str, name: str, args: argparse.Namespace) -> dict[str, Any]:
    db = create_database(url)
    probe = Probe()
    prefix = f"wedsync-bench:{uuid.uuid4().hex[:8]}"
    transport: Transport
    if name == "memory":
        transport = InProcessTransport()
    else:
        transport = RedisStreamTransport(
            Redis.from_url(args.redis_url, decode_responses=True),
            prefix=prefix,
            shards=args.shards,
            maxlen=100_000,
            claim_idle=timedelta(seconds=30),
        )
    transport.subscribe("probe", probe)
    dispatcher = Dispatcher(db=db, transport=transport)
    worker = transport.consumer_worker(db=db, name="bench", clock=utc_now)
    stop, worker_stop = asyncio.Event(), asyncio.Event()
    loops = [asyncio.create_task(dispatcher.run(stop, interval=0.5))]
    if worker is not None:
        loops.append(asyncio.create_task(worker.run(worker_stop)))
    try:
        await emit(db, 5)  # warm up connections, groups and leases
        dispatcher.notify()
        await probe.wait_for(5, within=60)
        latencies = []
        for _ in range(args.latency_count):
            before = len(probe.arrived)
            await emit(db, 1)
            began = time.perf_counter()  # committed: from here it is the bus's time
            dispatcher.notify()
            await probe.wait_for(before + 1, within=30)
            latencies.append(max(probe.arrived.values()) - began)

        stop.set()  # the dispatcher alone, by hand, for the throughput figure
        dispatcher.notify()
        await loops[0]
        worker_stop.set()
        for task in loops[1:]:
            await task
        before = len(probe.arrived)
        await emit(db, args.burst)
        began = time.perf_counter()
        published = await dispatcher.drain()
        publish_rate = published / (time.perf_counter() - began)
        end_to_end = publish_rate
        if worker is not None:
            began = time.perf_counter()
            again = asyncio.Event()
            running = asyncio.create_task(worker.run(again))
            await probe.wait_for(before + args.burst, within=600)
            end_to_end = args.burst / (time.perf_counter() - began)
            again.set()
            await running
        return {
            "transport": name,
            "latency": p50_p99(latencies),
            "publish": publish_rate,
            "end_to_end": end_to_end,
        }
    finally:
        stop.set()
        worker_stop.set()
        dispatcher.notify()
        for task in loops:
            if not task.done():
                await task
        if isinstance(transport, RedisStreamTransport):
            keys = [k async for k in transport.client.scan_iter(match=f"{prefix}:*")]
            if keys:
                await transport.client.delete(*keys)
        await transport.close()
        await db.dispose()


def main() -> None:
    configure_logging(json=False, level="WARNING")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--latency-count", type=int, default=200)
    parser.add_argument("--burst", type=int, default=5000)
    args = parser.parse_args()
    table = Table(title=f"Success-event bus on {args.backend} (outbox → consumer)")
    for column in (
        "transport",
        "latency p50 / p99",
        "dispatcher: outbox → transport",
        "end to end: outbox → consumer",
    ):
        table.add_column(column)
    for name in ("memory", "redis"):
        database = BenchDatabase(args.backend, args.postgres_url)
        try:
            result = asyncio.run(run_transport(database.url, name, args))
        finally:
            database.drop()
        table.add_row(
            f"{name}://",
            " / ".join(fmt_ms(s) for s in result["latency"]),
            fmt_rate(result["publish"], "events"),
            fmt_rate(result["end_to_end"], "events"),
        )
    console.print(table)


if __name__ == "__main__":
    main()
