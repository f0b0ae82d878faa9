"""Many users at once: each holds a live (SSE) connection and reads or ingests every ~30 s.

Usage: ``.venv/bin/python benchmarks/load_mix.py [--users 1000,5000] [--workers 1]
[--backend postgresql|sqlite] [--duration 90] [--interval 30] [--bus-url memory://]``

Setup (not timed): a fresh database with a synthetic population (``--suppliers``, twelve months),
scored, with a trained churn model; API keys (one per 100 users: the per-key rate limit is
for one integration, not for everyone); a few dashboard sign-ins whose cookies the users share.

For each ``--users`` level a fresh ``wedsync-success serve --workers N`` runs on 127.0.0.1 and:

1. every user opens ``GET /live`` (Server-Sent Events) and waits for its ``ready`` frame
   (raw asyncio sockets over HTTP/1.0: an httpx stream per user would cost the load generator
   more than the server). Server RSS is read before and after: the growth over the
   connections is the memory per connection.
2. for ``--duration`` seconds each user sends a request from the mix every ``--interval``
   seconds (each gap uniform in 0.5-1.5 x, the first one uniform in 0-1 x): the profile, the
   riskiest-first list, one churn prediction, or a small ingest batch (three events). They go
   through one shared HTTP/1.1 pool (``--pool`` connections), as through a proxy.
   ``GET /healthz`` is in the mix as the baseline: what the stack and the load generator cost.
3. meanwhile an injector posts, every ``--inject-every`` seconds, a ``referral_converted``
   event for a supplier that has not converted a referral yet: each makes one success event
   (``supplier.milestone_achieved``). Every listener records when that supplier's event reaches
   it; the lag runs from just before the POST to the frame's arrival. A delivery missing after
   a grace period counts as lost.

Before the connections open, each kind runs alone, 30 requests one at a time: its wall time
and the server's CPU per request ("alone", "server CPU": what a request costs with no queue).

Printed per level: p50/p95/p99 and errors per route, live deliveries (expected, received,
lag p50/p99/max), server RSS per connection, and the load generator's CPU (when it is near
100 % of a core, client-side figures are a floor set by the harness). The open-file limit is
raised to the hard limit; a level needing more sockets than that is refused up front.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import shutil
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from bench_data import BenchDatabase
from bench_http import HOST, Server, process_rss_mb, running_server
from bench_timing import fmt_goal, fmt_ms
from wedsync_success.access.service import create_key
from wedsync_success.access.team import create_user
from wedsync_success.config import Settings
from wedsync_success.context import build_context
from wedsync_success.demo import churn_model, seed
from wedsync_success.milestones.models import MilestoneAchievement
from wedsync_success.suppliers.models import Supplier
from wedsync_success.synthetic import generate_population

console = Console(width=120)  # the route table stays whole in a log file
POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
EMAIL, PASSWORD = "load@wedsync.example", "load-password-1"
USERS_PER_KEY = 100
SIGN_INS = 20
P99_GOAL, DELIVERY_GOAL = 0.200, 1.0
MIX = {"profile": 0.35, "list": 0.25, "churn": 0.2, "ingest": 0.15, "healthz": 0.05}
"""Share of each request kind in the users' traffic; healthz is the baseline."""
SOCKETS_SPARE = 500
"""File descriptors kept for the HTTP pool, the database and the interpreter itself."""


# --- setup ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    db: BenchDatabase
    registry: Path
    read_keys: list[str]
    ingest_key: str
    readable: list[str]
    """Current suppliers: each has a profile and a churn prediction."""
    convertible: list[str]
    """Suppliers with no converted referral yet: one injected event each makes a success event."""


async def build_world(backend: str, suppliers: int, keys: int) -> World:
    """A seeded, scored database with a trained churn model, keys and a dashboard account."""
    db = BenchDatabase(backend, POSTGRES_URL)
    registry = Path(tempfile.mkdtemp(prefix="wedsync_load_models_"))
    ctx = build_context(Settings(database_url=db.url, log_level="WARNING"))
    try:
        population = generate_population(
            suppliers=suppliers, months=12, seed=11, end=datetime.now(UTC)
        )
        await seed(ctx, population, progress=lambda *_: None)
        await churn_model(ctx, registry, progress=lambda *_: None)
        async with ctx.db.transaction() as session:
            now = ctx.clock()
            read_keys = [
                (
                    await create_key(session=session, name=f"load-{n}", scopes=["read"], now=now)
                ).secret
                for n in range(keys)
            ]
            ingest = await create_key(session=session, name="inject", scopes=["ingest"], now=now)
            await create_user(session=session, email=EMAIL, name="Load", password=PASSWORD, now=now)
        async with ctx.db.sessions() as session:
            readable = [
                str(s)
                for s in await session.scalars(
                    select(Supplier.id).where(Supplier.subscription_status != "cancelled")
                )
            ]
            converted = select(MilestoneAchievement.supplier_id).where(
                MilestoneAchievement.milestone_key == "first_referral_converted"
            )
            convertible = [
                str(s)
                for s in await session.scalars(
                    select(Supplier.id).where(
                        Supplier.subscription_status != "cancelled", Supplier.id.not_in(converted)
                    )
                )
            ]
    finally:
        await ctx.close()
    return World(db, registry, read_keys, ingest.secret, readable, convertible)


async def sign_in_cookies(base_url: str, count: int) -> list[str]:
    """``count`` dashboard sessions (``Cookie`` header values); users share them."""
    cookies = []
    for _ in range(count):
        async with httpx.AsyncClient(base_url=base_url) as client:
            page = await client.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert token, "no CSRF token on the login page"
            answer = await client.post(
                "/login", data={"email": EMAIL, "password": PASSWORD, "csrf": token.group(1)}
            )
            assert answer.status_code == 303, answer.text
            cookies.append("; ".join(f"{k}={v}" for k, v in client.cookies.items()))
    return cookies


# --- live listeners -------------------------------------------------------------------------------


@dataclass
class Deliveries:
    """When each injected event was posted, and each listener's lag for it."""

    injected_at: dict[str, float] = field(default_factory=dict)
    """supplier id → perf_counter just before its referral_converted POST."""
    answered_at: dict[str, float] = field(default_factory=dict)
    """supplier id → perf_counter when that POST was answered (its transaction committed)."""
    lags: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    listeners_at_injection: dict[str, int] = field(default_factory=dict)


class Listener:
    """One user's live connection: ``GET /live`` over a raw socket, frames parsed by line."""

    def __init__(self, port: int, cookie: str, deliveries: Deliveries) -> None:
        self.port = port
        self.cookie = cookie
        self.deliveries = deliveries
        self.ready = asyncio.Event()
        self.failed: str | None = None
        self.seen: set[str] = set()
        self.closing = False
        self._writer: asyncio.StreamWriter | None = None

    async def run(self) -> None:
        try:
            reader, writer = await asyncio.open_connection(HOST, self.port, limit=1 << 20)
            self._writer = writer
            writer.write(
                f"GET /live HTTP/1.0\r\nHost: {HOST}:{self.port}\r\n"
                f"Accept: text/event-stream\r\nCookie: {self.cookie}\r\n\r\n".encode()
            )
            status = await reader.readline()
            if b" 200 " not in status:
                raise RuntimeError(f"live stream answered {status!r}")
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            while line := await reader.readline():
                if line.startswith(b"event: ready"):
                    self.ready.set()
                elif line.startswith(b"data: ") and b"milestone_achieved" in line:
                    self._received(line)
            if not self.closing:
                self.failed = "the server closed the stream"
        except (OSError, RuntimeError) as exc:
            if not self.closing:
                self.failed = f"{type(exc).__name__}: {exc}"
        finally:
            self.ready.set()  # a failed listener is counted, not waited for

    def _received(self, line: bytes) -> None:
        arrived = time.perf_counter()
        supplier_id = json.loads(line[6:])["supplier_id"]
        posted = self.deliveries.injected_at.get(supplier_id)
        if posted is not None and supplier_id not in self.seen:
            self.seen.add(supplier_id)
            self.deliveries.lags[supplier_id].append(arrived - posted)

    def close(self) -> None:
        self.closing = True
        if self._writer is not None:
            self._writer.close()


# --- the mix ----------------------------------------------------------------------------------


@dataclass
class Traffic:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def _request(
    kind: str, world: World, rng: random.Random, key: str
) -> tuple[str, str, dict[str, Any]]:
    """(method, path, httpx keyword arguments) of one request of ``kind``."""
    auth = _auth(key)
    if kind == "profile":
        return "GET", f"/api/v1/suppliers/{rng.choice(world.readable)}", {"headers": auth}
    if kind == "list":
        return "GET", "/api/v1/suppliers?limit=25", {"headers": auth}
    if kind == "churn":
        return "GET", f"/api/v1/suppliers/{rng.choice(world.readable)}/churn", {"headers": auth}
    if kind == "ingest":
        sid = rng.choice(world.readable)
        now = datetime.now(UTC).isoformat()
        batch = [
            {"event_id": f"load-{uuid.uuid4()}", "supplier_id": sid, "type": t, "occurred_at": now}
            for t in ("login", "form_created", "client_added")
        ]
        return "POST", "/api/v1/events", {"json": batch, "headers": _auth(world.ingest_key)}
    return "GET", "/healthz", {}


async def user(
    n: int,
    http: httpx.AsyncClient,
    world: World,
    traffic: Traffic,
    *,
    interval: float,
    until: float,
) -> None:
    """One user's requests, every ~``interval`` seconds until ``until`` (perf_counter)."""
    rng = random.Random(n)
    key = world.read_keys[n // USERS_PER_KEY]
    kinds, weights = list(MIX), list(MIX.values())
    await asyncio.sleep(rng.uniform(0, interval))
    while time.perf_counter() < until:
        kind = rng.choices(kinds, weights)[0]
        method, path, kwargs = _request(kind, world, rng, key)
        started = time.perf_counter()
        try:
            answer = await http.request(method, path, **kwargs)
            elapsed = time.perf_counter() - started
            if answer.status_code >= 400:
                traffic.errors[kind].append(f"{answer.status_code} {answer.text[:120]}")
            else:
                traffic.latencies[kind].append(elapsed)
        except httpx.HTTPError as exc:
            traffic.errors[kind].append(f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(rng.uniform(0.5, 1.5) * interval)


async def injector(
    http: httpx.AsyncClient,
    targets: list[str],
    deliveries: Deliveries,
    listeners: Sequence[Listener],
    traffic: Traffic,
    world: World,
    *,
    every: float,
    until: float,
) -> None:
    """One success-producing event every ``every`` seconds, each for a supplier of its own."""
    for supplier_id in targets:
        if time.perf_counter() >= until:
            return
        batch = [
            {
                "event_id": f"inject-{uuid.uuid4()}",
                "supplier_id": supplier_id,
                "type": "referral_converted",
                "occurred_at": datetime.now(UTC).isoformat(),
            }
        ]
        deliveries.listeners_at_injection[supplier_id] = sum(
            1 for listener in listeners if listener.failed is None
        )
        deliveries.injected_at[supplier_id] = started = time.perf_counter()
        try:
            answer = await http.post("/api/v1/events", json=batch, headers=_auth(world.ingest_key))
        except httpx.HTTPError as exc:  # counted; the event may still be delivered
            traffic.errors["inject"].append(f"{type(exc).__name__}: {exc}")
        else:
            deliveries.answered_at[supplier_id] = time.perf_counter()
            if answer.status_code != 200 or answer.json().get("accepted") != 1:
                traffic.errors["inject"].append(f"{answer.status_code} {answer.text[:120]}")
            else:
                traffic.latencies["inject"].append(time.perf_counter() - started)
        await asyncio.sleep(every)
    raise RuntimeError("ran out of suppliers to inject: pass a larger --suppliers")


# --- one level --------------------------------------------------------------------------------


SERIAL_REQUESTS = 30


async def serial_costs(
    http: httpx.AsyncClient, server: Server, world: World
) -> dict[str, tuple[float, float]]:
    """Each kind alone, one request at a time: (wall, server CPU) per request. What a request
    costs with no queue in front of it; the mix's figures are these plus the waiting."""
    rng = random.Random(7)
    costs = {}
    for kind in MIX:
        requests = [_request(kind, world, rng, world.read_keys[0]) for _ in range(SERIAL_REQUESTS)]
        cpu0, wall0 = server_cpu_seconds(server), time.perf_counter()
        for method, path, kwargs in requests:
            (await http.request(method, path, **kwargs)).raise_for_status()
        wall = (time.perf_counter() - wall0) / SERIAL_REQUESTS
        costs[kind] = (wall, (server_cpu_seconds(server) - cpu0) / SERIAL_REQUESTS)
    return costs


def server_pids(server: Server) -> list[int]:
    """The server process and, with --workers, its worker processes."""
    pids = [server.process.pid]
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    return pids


def server_rss_mb(server: Server) -> float:
    """Resident memory of the server's processes, summed."""
    return sum(process_rss_mb(pid)[0] for pid in server_pids(server))


def server_cpu_seconds(server: Server) -> float:
    """User + system CPU the server's processes have used so far (``/proc/<pid>/stat``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in server_pids(server):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


@dataclass(frozen=True)
class LevelResult:
    users: int
    connected: int
    failed_listeners: list[str]
    traffic: Traffic
    deliveries: Deliveries
    rss_before: float
    rss_after: float
    serial: dict[str, tuple[float, float]]
    """kind → (wall, server CPU) of one request alone, before any load."""
    client_cpu_share: float
    server_cpu: float
    """CPU seconds the server's processes used during the mix (PostgreSQL's not included)."""
    measured_seconds: float


async def run_level(
    world: World, users: int, args: argparse.Namespace, targets: list[str]
) -> LevelResult:
    env = {
        "WEDSYNC_CHURN_REGISTRY": str(world.registry),
        "WEDSYNC_EVENT_BUS_URL": args.bus_url,
        "WEDSYNC_RUN_WORKER": "false",  # no playbook or webhook sends: this measures the API
    }
    with running_server(
        world.db.url, env=env, args=["--workers", str(args.workers)], ready_timeout=300
    ) as server:  # N workers importing the app on a loaded machine: minutes, not seconds
        port = int(server.base_url.rsplit(":", 1)[1])
        cookies = await sign_in_cookies(server.base_url, SIGN_INS)
        deliveries = Deliveries()
        traffic = Traffic()
        limits = httpx.Limits(
            max_connections=args.pool, max_keepalive_connections=args.pool, keepalive_expiry=2.0
        )
        async with httpx.AsyncClient(
            base_url=server.base_url, limits=limits, timeout=httpx.Timeout(30.0)
        ) as http:
            for _ in range(20):  # warm the pool and the server's caches, untimed
                await http.get("/api/v1/suppliers?limit=25", headers=_auth(world.read_keys[0]))
            serial = await serial_costs(http, server, world)
            rss_before = server_rss_mb(server)
            listeners = [
                Listener(port, cookies[n % len(cookies)], deliveries) for n in range(users)
            ]
            tasks = []
            console.print(f"  opening {users:,} live connections…")
            for start in range(0, users, args.ramp):  # --ramp connections per step
                batch = listeners[start : start + args.ramp]
                tasks += [asyncio.create_task(listener.run()) for listener in batch]
                await asyncio.gather(*(listener.ready.wait() for listener in batch))
            connected = sum(1 for listener in listeners if listener.failed is None)
            await asyncio.sleep(2)  # let the server settle before reading its memory
            rss_after = server_rss_mb(server)
            console.print(f"  {connected:,} connected; running the mix for {args.duration:.0f} s")
            cpu0, wall0 = time.process_time(), time.perf_counter()
            server_cpu0 = server_cpu_seconds(server)
            until = wall0 + args.duration
            work = [
                asyncio.create_task(
                    user(n, http, world, traffic, interval=args.interval, until=until)
                )
                for n in range(users)
            ]
            inject = asyncio.create_task(
                injector(
                    http,
                    targets,
                    deliveries,
                    listeners,
                    traffic,
                    world,
                    every=args.inject_every,
                    until=until,
                )
            )
            await asyncio.gather(*work, inject)
            await asyncio.sleep(args.grace)  # the last events' deliveries
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            server_cpu = server_cpu_seconds(server) - server_cpu0
            for listener in listeners:
                listener.close()
            await asyncio.gather(*tasks, return_exceptions=True)
    return LevelResult(
        users=users,
        connected=connected,
        failed_listeners=[listener.failed for listener in listeners if listener.failed][:5],
        traffic=traffic,
        deliveries=deliveries,
        rss_before=rss_before,
        rss_after=rss_after,
        serial=serial,
        client_cpu_share=cpu / wall,
        server_cpu=server_cpu,
        measured_seconds=wall,
    )


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- report ------------------------------------------------------------------------------------


def _pct(samples: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q)) if samples else float("nan")


def report(result: LevelResult, args: argparse.Namespace) -> None:
    table = Table(
        title=f"{result.users:,} users, {args.workers} worker(s), {args.backend}, "
        f"{result.connected:,} live connections, {result.measured_seconds:.0f} s"
    )
    columns = ("route", "alone", "server CPU", "requests", "p50", "p95", "p99", "errors")
    for column in columns:
        table.add_column(column, justify="right" if column != "route" else "left")
    for kind in [*MIX, "inject"]:
        done = result.traffic.latencies.get(kind, [])
        errors = result.traffic.errors.get(kind, [])
        alone, cpu = result.serial.get(kind, (None, None))
        table.add_row(
            kind + (" (baseline)" if kind == "healthz" else ""),
            fmt_ms(alone) if alone is not None else "-",
            fmt_ms(cpu) if cpu is not None else "-",
            f"{len(done):,}",
            fmt_ms(_pct(done, 50)),
            fmt_ms(_pct(done, 95)),
            fmt_goal(_pct(done, 99), P99_GOAL) if kind != "healthz" else fmt_ms(_pct(done, 99)),
            f"[red]{len(errors)}[/]" if errors else "0",
        )
    console.print(table)
    for kind, errors in result.traffic.errors.items():
        console.print(f"  {kind} errors, first: {errors[0]}")
    d = result.deliveries
    expected = sum(d.listeners_at_injection.values())
    lags = [lag for per_event in d.lags.values() for lag in per_event]
    late = sum(1 for lag in lags if lag >= DELIVERY_GOAL)
    fan_out = [  # from the POST's answer (committed) to each listener: the bus and the streams
        d.injected_at[sid] + lag - d.answered_at[sid]
        for sid, per_event in d.lags.items()
        if sid in d.answered_at
        for lag in per_event
    ]
    console.print(
        f"  live events: {len(d.injected_at)} injected, {len(lags):,} of {expected:,} deliveries "
        f"received ({expected - len(lags):,} missing, {late:,} later than 1 s); lag p50 "
        f"{fmt_ms(_pct(lags, 50))}, p99 {fmt_goal(_pct(lags, 99), DELIVERY_GOAL)}, "
        f"max {fmt_ms(max(lags, default=float('nan')))}; after the POST's answer (the "
        f"fan-out alone): p50 {fmt_ms(_pct(fan_out, 50))}, p99 {fmt_ms(_pct(fan_out, 99))}"
    )
    per_connection_kb = (result.rss_after - result.rss_before) * 1024 / max(result.connected, 1)
    console.print(
        f"  server RSS {result.rss_before:,.0f} MB before the connections, "
        f"{result.rss_after:,.0f} MB with them: {per_connection_kb:,.1f} KB per connection"
    )
    answered = sum(len(v) for v in result.traffic.latencies.values()) + sum(
        len(v) for v in result.traffic.errors.values()
    )
    console.print(
        f"  server CPU: {result.server_cpu / result.measured_seconds:.0%} of one core, "
        f"{result.server_cpu / max(answered, 1) * 1000:,.1f} ms per request "
        f"({answered:,} requests; PostgreSQL's CPU not included)"
    )
    console.print(
        f"  load generator CPU: {result.client_cpu_share:.0%} of one core "
        f"(requests/s offered: {result.users / args.interval:,.0f})"
    )
    if result.failed_listeners:
        console.print(f"  listeners that failed, first: {result.failed_listeners}")


def raise_open_files(users: int) -> int:
    """Raise the open-file limit to the hard limit (the server inherits it); the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", default="1000,5000", help="comma-separated levels")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--bus-url", default="memory://", help="WEDSYNC_EVENT_BUS_URL")
    parser.add_argument("--suppliers", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=90.0, help="seconds of mix per level")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between a user's")
    parser.add_argument("--inject-every", type=float, default=2.0)
    parser.add_argument("--grace", type=float, default=5.0)
    parser.add_argument("--pool", type=int, default=100, help="HTTP connections of the mix")
    parser.add_argument("--ramp", type=int, default=250, help="live connections opened at once")
    args = parser.parse_args(argv)
    levels = [int(u) for u in args.users.split(",")]
    limit = raise_open_files(max(levels))
    console.print(f"open-file limit: {limit:,} (client and server each)")
    for users in levels:
        if users + args.pool + SOCKETS_SPARE > limit:
            console.print(
                f"[red]{users:,} users need about {users + args.pool + SOCKETS_SPARE:,} open "
                f"files, above the hard limit of {limit:,}: that level is capped by the limit[/]"
            )
            return 2
    started = time.perf_counter()
    keys = -(-max(levels) // USERS_PER_KEY)
    world = asyncio.run(build_world(args.backend, args.suppliers, keys))
    console.print(
        f"seeded {args.suppliers:,} suppliers, scored, churn model trained "
        f"({time.perf_counter() - started:.0f} s, not timed)"
    )
    per_level = int(args.duration / args.inject_every) + 2
    if per_level * len(levels) > len(world.convertible):
        console.print("[red]too few suppliers to inject into: pass a larger --suppliers[/]")
        return 2
    try:
        for i, users in enumerate(levels):
            console.print(f"uptime: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1/5 min)")
            targets = world.convertible[i * per_level : (i + 1) * per_level]
            result = asyncio.run(run_level(world, users, args, targets))
            report(result, args)
    finally:
        world.db.drop()
        shutil.rmtree(world.registry, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
