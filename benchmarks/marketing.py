"""Marketing sync: event → collector latency and sustained messages/s, beside a baseline.

Usage::

    .venv/bin/python benchmarks/marketing.py                       # SQLite, then PostgreSQL
    .venv/bin/python benchmarks/marketing.py --backend sqlite --latency-count 100 --burst 2000

Per backend, on a fresh migrated database, with WEDSYNC_MARKETING_URL pointing at a real
Segment-compatible collector on 127.0.0.1 (``http.server`` in a thread: checks the write
key, parses each batch, notes when each ``messageId`` arrived):

1. **Latency**: the dispatcher and the marketing worker run their loops as in the API
   process; one success event at a time is committed to the outbox and the clock stops
   when the collector has its ``track`` call. Baseline in the same run: a one-message
   batch POSTed to the collector directly by httpx, one at a time.
2. **Sustained rate**: ``--burst`` events committed at once; the figure is messages/s until
   the collector has them all (outbox → consumer → ``marketing_messages`` → batches).
   Baseline: the very same batches (same messages, same packing) POSTed by httpx straight
   to the collector, 4 at a time (the worker's default concurrency).
3. **Duplicates**: ``messageId`` values the collector saw more than once (goal 0).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from bench_cli import add_backend_option, chosen_backends
from bench_data import BenchDatabase
from bench_timing import fmt_ms, fmt_rate, p50_p99
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.events.models import OutboxEvent
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEventType
from wedsync_success.integrations.marketing import segment
from wedsync_success.integrations.marketing.models import MarketingMessage
from wedsync_success.kit.clock import utc_now

POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SECRET = "benchmark-secret-key-0123456789-abcdefghij"
WRITE_KEY = "wk_benchmark"
AUTH = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
console = Console()


class Arrivals:
    """When each ``messageId`` arrived (perf_counter), and waiters to wake."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.lock = threading.Lock()
        self.seen: Counter[str] = Counter()
        self.arrived: dict[str, float] = {}
        self.changed = asyncio.Event()

    def note(self, message_ids: list[str]) -> None:
        now = time.perf_counter()
        with self.lock:
            for message_id in message_ids:
                self.seen[message_id] += 1
                self.arrived.setdefault(message_id, now)
        self.loop.call_soon_threadsafe(self.changed.set)

    async def wait_for(self, wanted: set[str]) -> None:
        while not wanted.issubset(self.arrived):
            self.changed.clear()
            if wanted.issubset(self.arrived):
                break
            await self.changed.wait()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Authorization") != AUTH:
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        batch = json.loads(raw)["batch"]
        self.server.arrivals.note([m["messageId"] for m in batch])
        body = b'{"success":true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, arrivals: Arrivals) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.arrivals = arrivals


async def emit(ctx: AppContext, count: int) -> set[str]:
    """Commit ``count`` events to the outbox; returns the ``messageId`` of their track calls."""
    events = [
        NewEvent(
            event_type=SuccessEventType.MILESTONE_ACHIEVED,
            supplier_id=uuid.uuid4(),
            occurred_at=utc_now(),
            payload={"milestone": "first_booking", "weddings_booked": 3},
        )
        for _ in range(count)
    ]
    async with ctx.db.transaction() as session:
        await enqueue(session=session, events=events, now=utc_now())
        rows = await session.scalars(
            select(OutboxEvent.event_id).order_by(OutboxEvent.id.desc()).limit(count)
        )
        return {segment.track_message_id(event_id) for event_id in rows}


async def stored_messages(ctx: AppContext, message_ids: set[str]) -> list[str]:
    async with ctx.db.sessions() as session:
        rows = await session.scalars(
            select(MarketingMessage.body)
            .where(MarketingMessage.message_id.in_(sorted(message_ids)))
            .order_by(MarketingMessage.id)
        )
        return [segment.encode(body) for body in rows]


async def post_batches(url: str, batches: list[list[str]], *, concurrency: int) -> list[float]:
    """POST already packed batches straight to the collector; returns each request's time."""
    slots = asyncio.Semaphore(concurrency)
    samples: list[float] = []
    async with httpx.AsyncClient(timeout=30) as http:

        async def one(batch: list[str]) -> None:
            body = segment.batch_body(batch, sent_at=utc_now())
            async with slots:
                began = time.perf_counter()
                response = await http.post(
                    url,
                    content=body,
                    headers={"content-type": "application/json", "authorization": AUTH},
                )
                response.raise_for_status()
                samples.append(time.perf_counter() - began)

        await asyncio.gather(*(one(b) for b in batches))
    return samples


def rekeyed(texts: list[str]) -> list[str]:
    """The same messages under fresh ids, so the baseline's arrivals are told apart."""
    out = []
    for text in texts:
        message = json.loads(text)
        message["messageId"] = f"baseline-{uuid.uuid4()}"
        out.append(segment.encode(message))
    return out


async def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    database = BenchDatabase(backend, args.postgres_url)
    arrivals = Arrivals(asyncio.get_running_loop())
    server = _Server(arrivals)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    ctx = build_context(
        Settings(
            database_url=database.url,
            secret_key=SECRET,
            marketing_url=base,
            marketing_write_key=WRITE_KEY,
            outbound_allow_private=True,  # the collector is on 127.0.0.1
        )
    )
    stop = asyncio.Event()
    loops: list[asyncio.Task[None]] = []
    try:
        worker = ctx.marketing.worker(name="bench")
        loops.append(asyncio.create_task(ctx.dispatcher.run(stop, interval=0.5)))
        loops.append(asyncio.create_task(worker.run(stop, interval=0.5)))
        warm = await emit(ctx, 5)
        ctx.dispatcher.notify()
        async with asyncio.timeout(60):
            await arrivals.wait_for(warm)

        latencies = []
        singles: list[str] = []
        for _ in range(args.latency_count):
            began = time.perf_counter()
            wanted = await emit(ctx, 1)
            ctx.dispatcher.notify()
            async with asyncio.timeout(30):
                await arrivals.wait_for(wanted)
            latencies.append(arrivals.arrived[next(iter(wanted))] - began)
            singles += list(wanted)
        one_each = [[t] for t in rekeyed(await stored_messages(ctx, set(singles)))]
        direct = await post_batches(f"{base}/v1/batch", one_each, concurrency=1)

        began = time.perf_counter()
        burst = await emit(ctx, args.burst)
        ctx.dispatcher.notify()
        async with asyncio.timeout(600):
            await arrivals.wait_for(burst)
        rate = args.burst / (time.perf_counter() - began)
        texts = rekeyed(await stored_messages(ctx, burst))
        batches = [[texts[i] for i in group] for group in segment.pack([len(t) for t in texts])]
        began = time.perf_counter()
        await post_batches(f"{base}/v1/batch", batches, concurrency=4)
        direct_rate = len(texts) / (time.perf_counter() - began)
        return {
            "backend": backend,
            "latency": p50_p99(latencies),
            "direct": p50_p99(direct),
            "rate": rate,
            "direct_rate": direct_rate,
            "batches": len(batches),
            "duplicates": sum(1 for n in arrivals.seen.values() if n > 1),
        }
    finally:
        stop.set()
        ctx.dispatcher.notify()
        ctx.marketing.wake_worker()
        for task in loops:
            await task
        await ctx.close()
        server.shutdown()
        server.server_close()
        database.drop()


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_backend_option(parser)
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--latency-count", type=int, default=200)
    parser.add_argument("--burst", type=int, default=5000)
    args = parser.parse_args()
    backends = chosen_backends(args.backend)
    table = Table(title="Marketing sync (Segment-compatible collector on 127.0.0.1)")
    for column in (
        "backend",
        "event → collector p50 / p99",
        "baseline: 1-message batch by httpx p50 / p99",
        "sustained messages/s (batches)",
        "baseline: same batches by httpx, 4 at a time",
        "duplicate messageIds",
    ):
        table.add_column(column)
    for backend in backends:
        result = asyncio.run(run_backend(backend, args))
        table.add_row(
            backend,
            " / ".join(fmt_ms(s) for s in result["latency"]),
            " / ".join(fmt_ms(s) for s in result["direct"]),
            f"{fmt_rate(result['rate'], 'messages')} ({result['batches']})",
            fmt_rate(result["direct_rate"], "messages"),
            str(result["duplicates"]),
        )
    console.print(table)


if __name__ == "__main__":
    main()
