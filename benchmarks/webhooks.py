"""Outbound webhooks: event → receiver latency and sustained deliveries/s, beside a baseline.

Usage::

    .venv/bin/python benchmarks/webhooks.py                        # SQLite, then PostgreSQL
    .venv/bin/python benchmarks/webhooks.py --backend sqlite --latency-count 100 --burst 500

Per backend, on a fresh migrated database, with one endpoint pointing at a real HTTP
receiver on 127.0.0.1 (``http.server`` in a thread, answering 204):

1. **Latency**: the dispatcher and the webhook worker run their loops as in the API
   process; one event at a time is committed to the outbox and the clock stops when the
   receiver has the signed request. Baseline in the same run: the same signed request
   POSTed to the receiver directly by httpx, one at a time.
2. **Sustained rate**: ``--burst`` events committed at once; the figure is deliveries/s until
   the receiver has them all. Baseline: as many POSTs by httpx, 16 at a time (the worker's
   default concurrency).
3. **Duplicates**: ``webhook-id`` values the receiver saw more than once (goal 0).
"""

from __future__ import annotations

import argparse
import asyncio
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
from wedsync_success.integrations.webhooks import service
from wedsync_success.integrations.webhooks.schemas import EndpointIn
from wedsync_success.kit.clock import utc_now
from wedsync_success.kit.standard_webhooks import new_secret, signature_headers, webhook_signer

POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SECRET = "benchmark-secret-key-0123456789-abcdefghij"
console = Console()


class Arrivals:
    """When each ``webhook-id`` arrived (perf_counter), and waiters to wake."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.lock = threading.Lock()
        self.seen: Counter[str] = Counter()
        self.arrived: dict[str, float] = {}
        self.changed = asyncio.Event()

    def note(self, msg_id: str) -> None:
        now = time.perf_counter()
        with self.lock:
            self.seen[msg_id] += 1
            self.arrived.setdefault(msg_id, now)
        self.loop.call_soon_threadsafe(self.changed.set)

    async def wait_for(self, count: int) -> None:
        while len(self.arrived) < count:
            self.changed.clear()
            if len(self.arrived) >= count:
                break
            await self.changed.wait()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.arrivals.note(self.headers.get("webhook-id", ""))
        self.send_response(204)
        self.end_headers()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 refuses connections under a burst

    def __init__(self, arrivals: Arrivals) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.arrivals = arrivals


async def emit(ctx: AppContext, count: int) -> list[str]:
    """Commit ``count`` events to the outbox; returns their ``webhook-id`` values."""
    events = [
        NewEvent(
            event_type=SuccessEventType.MILESTONE_ACHIEVED,
            supplier_id=uuid.uuid4(),
            occurred_at=utc_now(),
            payload={"milestone": "first_booking"},
        )
        for _ in range(count)
    ]
    async with ctx.db.transaction() as session:
        await enqueue(session=session, events=events, now=utc_now())
        rows = await session.scalars(
            select(OutboxEvent.event_id).order_by(OutboxEvent.id.desc()).limit(count)
        )
        return [service.msg_id(event_id) for event_id in rows]


async def baseline(url: str, arrivals: Arrivals, *, count: int, concurrency: int) -> list[float]:
    """The same signed POST sent straight to the receiver; returns each request's time."""
    signer = webhook_signer(new_secret())
    body = '{"type":"supplier.milestone_achieved","data":{}}'
    slots = asyncio.Semaphore(concurrency)
    samples: list[float] = []
    async with httpx.AsyncClient(timeout=10) as http:

        async def one() -> None:
            msg_id = f"base_{uuid.uuid4().hex}"
            async with slots:
                began = time.perf_counter()
                headers = {
                    "content-type": "application/json",
                    **signature_headers(
                        signers=[signer], msg_id=msg_id, timestamp=utc_now(), body=body
                    ),
                }
                response = await http.post(url, content=body.encode(), headers=headers)
                response.raise_for_status()
                samples.append(time.perf_counter() - began)

        await asyncio.gather(*(one() for _ in range(count)))
    return samples


async def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    database = BenchDatabase(backend, args.postgres_url)
    arrivals = Arrivals(asyncio.get_running_loop())
    server = _Server(arrivals)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    ctx = build_context(
        Settings(database_url=database.url, secret_key=SECRET, outbound_allow_private=True)
    )
    stop = asyncio.Event()
    loops: list[asyncio.Task[None]] = []
    try:
        async with ctx.db.transaction() as session:
            await service.create_endpoint(
                session=session,
                data=EndpointIn(url=url),
                sealer=ctx.webhooks.sealer,
                now=utc_now(),
            )
        worker = ctx.webhooks.worker(name="bench")
        loops.append(asyncio.create_task(ctx.dispatcher.run(stop, interval=0.5)))
        loops.append(asyncio.create_task(worker.run(stop, interval=0.5)))
        await emit(ctx, 5)  # warm up connections and caches
        ctx.dispatcher.notify()
        async with asyncio.timeout(60):
            await arrivals.wait_for(5)

        latencies = []
        for _ in range(args.latency_count):
            began = time.perf_counter()
            [msg_id] = await emit(ctx, 1)
            ctx.dispatcher.notify()
            while msg_id not in arrivals.arrived:
                arrivals.changed.clear()
                if msg_id in arrivals.arrived:
                    break
                await asyncio.wait_for(arrivals.changed.wait(), timeout=30)
            latencies.append(arrivals.arrived[msg_id] - began)
        direct = await baseline(url, arrivals, count=args.latency_count, concurrency=1)

        before = len(arrivals.arrived)
        began = time.perf_counter()
        await emit(ctx, args.burst)
        ctx.dispatcher.notify()
        async with asyncio.timeout(600):
            await arrivals.wait_for(before + args.burst)
        burst_rate = args.burst / (time.perf_counter() - began)
        began = time.perf_counter()
        await baseline(url, arrivals, count=args.burst, concurrency=16)
        direct_rate = args.burst / (time.perf_counter() - began)
        duplicates = sum(1 for n in arrivals.seen.values() if n > 1)
        return {
            "backend": backend,
            "latency": p50_p99(latencies),
            "direct": p50_p99(direct),
            "rate": burst_rate,
            "direct_rate": direct_rate,
            "duplicates": duplicates,
        }
    finally:
        stop.set()
        ctx.dispatcher.notify()
        ctx.webhooks.wake_worker()
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
    parser.add_argument("--burst", type=int, default=2000)
    args = parser.parse_args()
    backends = chosen_backends(args.backend)
    table = Table(title="Outbound webhooks (receiver on 127.0.0.1)")
    for column in (
        "backend",
        "event → receiver p50 / p99",
        "baseline: httpx direct p50 / p99",
        "sustained deliveries/s",
        "baseline: httpx direct, 16 at a time",
        "duplicate webhook-ids",
    ):
        table.add_column(column)
    for backend in backends:
        result = asyncio.run(run_backend(backend, args))
        table.add_row(
            backend,
            " / ".join(fmt_ms(s) for s in result["latency"]),
            " / ".join(fmt_ms(s) for s in result["direct"]),
            fmt_rate(result["rate"], "deliveries"),
            fmt_rate(result["direct_rate"], "requests"),
            str(result["duplicates"]),
        )
    console.print(table)


if __name__ == "__main__":
    main()
