"""Interventions: trigger → email latency, enrolment throughput, the worker's send rate.

Usage::

    .venv/bin/python benchmarks/interventions.py                   # SQLite, then PostgreSQL
    .venv/bin/python benchmarks/interventions.py --backend sqlite --suppliers 10000

Per backend, on a fresh migrated database with a real SMTP server (aiosmtpd on 127.0.0.1)
and the shipped playbooks (no holdout, no quiet hours, so every trigger sends):

1. **Trigger → email accepted**: the dispatcher and the worker run as in the API process;
   one supplier at a time enters at-risk (the success event is committed to the outbox, as
   a rescore does) and the clock stops when the SMTP server has accepted that supplier's
   email. Baseline in the same run: the email adapter alone sending the same email.
2. **Enrolment**: ``--suppliers`` suppliers cross into at-risk in one recompute (their
   events committed in one transaction); the figure is the time until every first step is
   scheduled (goal < 10 s for 10,000).
3. **Sustained send rate**: two workers work ``--send-count`` of the enrolled suppliers'
   first emails side by side (as two ``wedsync-success worker`` processes would); baseline:
   the adapter alone sending as many, 16 at a time.
4. **Duplicates**: Message-IDs the SMTP server received more than once, over the whole run
   (goal 0).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from bench_cli import add_backend_option, chosen_backends
from bench_data import BenchDatabase
from bench_timing import fmt_ms, fmt_s, p50_p99
from wedsync_success.config import DEFAULTS_DIR, Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEventType
from wedsync_success.interventions.channels.base import (
    Category,
    Channel,
    OutgoingMessage,
    Recipient,
)
from wedsync_success.interventions.models import StepJob
from wedsync_success.kit.clock import utc_now
from wedsync_success.suppliers.service import upsert_batch

POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SECRET = "benchmark-secret-key-0123456789-abcdefghij"
console = Console()


class Inbox:
    """An SMTP handler noting when each message arrived (perf_counter) and its Message-ID."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrived: dict[str, float] = {}
        self.message_ids: Counter[str] = Counter()
        self.waiters: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}

    async def handle_DATA(  # noqa: N802 - the name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        now = time.perf_counter()
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        message_id = next(
            (
                line.split(b":", 1)[1].strip().decode()
                for line in content.splitlines()
                if line.lower().startswith(b"message-id:")
            ),
            "",
        )
        with self.lock:
            self.message_ids[message_id] += 1
            for rcpt in envelope.rcpt_tos:
                self.arrived[rcpt] = now
                waiter = self.waiters.pop(rcpt, None)
                if waiter is not None:
                    waiter[0].call_soon_threadsafe(waiter[1].set)
        return "250 OK"

    def expect(self, address: str) -> asyncio.Event:
        event = asyncio.Event()
        with self.lock:
            self.waiters[address] = (asyncio.get_running_loop(), event)
        return event


def playbooks_file(folder: Path) -> Path:
    data = yaml.safe_load((DEFAULTS_DIR / "playbooks.yaml").read_text(encoding="utf-8"))
    for playbook in data["playbooks"]:
        playbook["holdout"] = 0.0
    data["quiet_hours"]["channels"] = []
    data["frequency_cap"] = {"messages": 1000, "per_days": 7}
    path = folder / "playbooks.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


async def seed(ctx: AppContext, count: int, tag: str) -> list[tuple[uuid.UUID, str]]:
    """``count`` current customers with one user each; returns (id, email)."""
    out: list[tuple[uuid.UUID, str]] = []
    for start in range(0, count, 1000):
        items = []
        for n in range(start, min(count, start + 1000)):
            sid = uuid.uuid4()
            email = f"owner-{tag}-{n}@bench.example"
            out.append((sid, email))
            items.append(
                {
                    "id": str(sid),
                    "business_name": f"Bench Florals {tag} {n}",
                    "vendor_type": "florist",
                    "country": "GB",
                    "signed_up_at": "2026-01-10T09:00:00+00:00",
                    "plan_tier": "professional",
                    "mrr_minor": 4900,
                    "users": [{"email": email, "name": "Ada Fern"}],
                }
            )
        async with ctx.db.transaction() as session:
            await upsert_batch(session=session, items=items, now=ctx.clock())
    return out


async def at_risk(ctx: AppContext, supplier_ids: list[uuid.UUID]) -> None:
    """What a recompute writes when these suppliers enter at-risk: one transaction."""
    now = ctx.clock()
    async with ctx.db.transaction() as session:
        await enqueue(
            session=session,
            events=[
                NewEvent(
                    SuccessEventType.RISK_LEVEL_CHANGED,
                    s,
                    now,
                    {"risk_level": "at_risk", "previous_risk_level": "watch", "score": 33.0},
                )
                for s in supplier_ids
            ],
            now=now,
        )


def probe(address: str, key: str) -> OutgoingMessage:
    return OutgoingMessage(
        idempotency_key=key,
        channel=Channel.EMAIL,
        category=Category.MARKETING,
        recipient=Recipient(str(uuid.uuid4()), None, "Ada Fern", email=address),
        subject="A quick check-in from WedSync",
        text="Hello " * 200,
        html="<p>" + "Hello " * 200 + "</p>",
    )


async def bench_backend(backend: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    database = BenchDatabase(backend, args.postgres_url)
    inbox = Inbox()
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = int(free.getsockname()[1])
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    ctx = build_context(
        Settings(
            database_url=database.url,
            secret_key=SECRET,
            smtp_url=f"smtp://127.0.0.1:{port}",
            playbooks_config=playbooks_file(tmp),
            log_level="WARNING",
        ),
        clock=utc_now,
    )
    figures: dict[str, Any] = {"backend": backend}
    try:
        worker = ctx.interventions.worker(name="bench-1")
        adapter = worker.adapters["email"]

        # 1. trigger → email, one supplier at a time, dispatcher and worker running
        singles = await seed(ctx, args.latency_samples, "latency")
        stop = asyncio.Event()
        loops = [
            asyncio.create_task(ctx.dispatcher.run(stop, interval=1.0)),
            asyncio.create_task(worker.run(stop, interval=1.0)),
        ]
        latencies = []
        for supplier_id, email in singles:
            arrived = inbox.expect(email)
            started = time.perf_counter()
            await at_risk(ctx, [supplier_id])
            ctx.dispatcher.notify()
            await asyncio.wait_for(arrived.wait(), timeout=30)
            latencies.append(inbox.arrived[email] - started)
        stop.set()
        ctx.dispatcher.notify()
        worker.notify()
        await asyncio.gather(*loops)
        baseline = []
        for n in range(args.latency_samples):
            started = time.perf_counter()
            await adapter.send(probe(f"probe-{n}@bench.example", f"probe-latency-{n}"))
            baseline.append(time.perf_counter() - started)
        figures["latency"] = (p50_p99(latencies), p50_p99(baseline))

        # 2. enrolment: many suppliers enter at-risk in one recompute
        crowd = await seed(ctx, args.suppliers, "crowd")
        await at_risk(ctx, [s for s, _ in crowd])
        started = time.perf_counter()
        await ctx.dispatcher.drain()
        enrol_seconds = time.perf_counter() - started
        async with ctx.db.sessions() as session:
            scheduled = await session.scalar(
                select(func.count()).select_from(StepJob).where(StepJob.state == "pending")
            )
        figures["enrolment"] = (args.suppliers, enrol_seconds, scheduled)

        # 3. sustained send rate: two workers side by side on the crowd's first emails
        second = type(worker)(
            db=ctx.db, env=worker.env, adapters=worker.adapters, clock=utc_now, name="bench-2"
        )
        before = len(inbox.arrived)
        started = time.perf_counter()
        sent = 0
        while sent < args.send_count:
            stats = await asyncio.gather(worker.work_once(), second.work_once())
            sent += sum(s.sent for s in stats)
            if not any(s.claimed for s in stats):
                break
        send_seconds = time.perf_counter() - started
        delivered = len(inbox.arrived) - before
        semaphore = asyncio.Semaphore(16)

        async def raw(n: int) -> None:
            async with semaphore:
                await adapter.send(probe(f"raw-{n}@bench.example", f"probe-rate-{n}"))

        raw_count = args.send_count
        started = time.perf_counter()
        await asyncio.gather(*(raw(n) for n in range(raw_count)))
        raw_seconds = time.perf_counter() - started
        figures["rate"] = (delivered, send_seconds, sent, raw_count, raw_seconds)
        figures["duplicates"] = sum(c - 1 for c in inbox.message_ids.values() if c > 1)
    finally:
        await ctx.close()
        controller.stop()
        database.drop()
    return figures


def report(results: list[dict[str, Any]]) -> None:
    table = Table(title="Interventions")
    table.add_column("figure")
    for r in results:
        table.add_column(r["backend"], justify="right")
    rows: list[list[str]] = [
        ["trigger → email accepted, p50 / p99"],
        ["  baseline: the SMTP adapter alone, p50 / p99"],
        ["enrolment: suppliers entering at-risk at once"],
        ["  time until every first step is scheduled (goal < 10 s)"],
        ["sustained send rate, 2 workers"],
        ["  baseline: the SMTP adapter alone, 16 at a time"],
        ["duplicate deliveries (goal 0)"],
    ]
    for r in results:
        (lp50, lp99), (bp50, bp99) = r["latency"]
        count, seconds, scheduled = r["enrolment"]
        delivered, send_seconds, _sent, raw_count, raw_seconds = r["rate"]
        rows[0].append(f"{fmt_ms(lp50)} / {fmt_ms(lp99)}")
        rows[1].append(f"{fmt_ms(bp50)} / {fmt_ms(bp99)}")
        rows[2].append(f"{count:,} ({scheduled:,} scheduled)")
        rows[3].append(f"{fmt_s(seconds)} ({count / seconds:,.0f}/s)")
        rows[4].append(f"{delivered / send_seconds:,.0f} emails/s ({delivered:,})")
        rows[5].append(f"{raw_count / raw_seconds:,.0f} emails/s")
        rows[6].append(str(r["duplicates"]))
    for row in rows:
        table.add_row(*row)
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_backend_option(parser)
    parser.add_argument("--suppliers", type=int, default=10_000)
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument(
        "--send-count", type=int, default=2000, help="emails the send-rate figure times"
    )
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    args = parser.parse_args()
    backends = chosen_backends(args.backend)
    import tempfile

    results = []
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            console.print(f"[bold]{backend}[/]: seeding and measuring…")
            results.append(asyncio.run(bench_backend(backend, args, Path(tmp))))
    report(results)


if __name__ == "__main__":
    main()
