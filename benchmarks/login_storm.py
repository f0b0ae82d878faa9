"""``/healthz`` latency while 10 clients fail logins continuously (goal: p99 < 20 ms).

For each backend a real server (``wedsync-success serve``: uvicorn, one worker, on
127.0.0.1) is started twice:

- **throttled**: the production defaults. After 5 failures per account and per address the
  server answers 429 before hashing anything, so the storm is cheap by design.
- **hashing**: the throttle lifted (``WEDSYNC_LOGIN_MAX_FAILURES`` = 10^9) and emails rotated
  (a known account and ever-new unknown ones alternate), so *every* attempt costs an Argon2
  verification: the worst case the throttle protects against, e.g. a botnet of addresses.

In each run a probe GETs ``/healthz`` back to back (10 ms apart) first with no storm (the
same-run baseline), then while 10 storm clients, in a separate process, POST wrong
passwords to ``/login`` as fast as they are answered. Figures are client-side latencies.

    python benchmarks/login_storm.py [--seconds 8] [--backends sqlite postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from bench_data import DEFAULT_POSTGRES_URL, BenchDatabase
from bench_http import running_server
from bench_timing import fmt_ms, p50_p99
from wedsync_success.access.team import create_user
from wedsync_success.config import Settings
from wedsync_success.context import build_context

console = Console(width=150)
EMAIL, PASSWORD = "storm@wedsync.example", "the-right-password"
STORM_CLIENTS = 10
PROBE_GAP = 0.010
SRC = Path(__file__).resolve().parents[1] / "src"
"""The server runs this checkout's code (or ``--src``), whatever the installed package is."""


async def _add_user(url: str) -> None:
    ctx = build_context(Settings(database_url=url, log_level="WARNING"))
    try:
        async with ctx.db.transaction() as session:
            await create_user(
                session=session, email=EMAIL, name="Storm", password=PASSWORD, now=datetime.now(UTC)
            )
    finally:
        await ctx.close()


async def probe(base_url: str, seconds: float) -> list[float]:
    """Back-to-back GET /healthz for ``seconds``; each latency in seconds."""
    latencies = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        await http.get("/healthz")  # connect first
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await http.get("/healthz")
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200
            await asyncio.sleep(PROBE_GAP)
    return latencies


async def storm(base_url: str, seconds: float, rotate: bool) -> dict[str, int]:
    """``STORM_CLIENTS`` clients failing logins for ``seconds``; statuses counted."""
    statuses: Counter[str] = Counter()

    async def client(n: int) -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            form = await http.get("/login")
            match = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert match, "no CSRF token on the login page"
            deadline = time.perf_counter() + seconds
            attempt = 0
            while time.perf_counter() < deadline:
                attempt += 1
                email = EMAIL if not rotate or attempt % 2 else f"{uuid.uuid4().hex}@x.example"
                response = await http.post(
                    "/login",
                    data={"email": email, "password": f"wrong-{n}", "csrf": match.group(1)},
                )
                statuses[str(response.status_code)] += 1

    await asyncio.gather(*(client(n) for n in range(STORM_CLIENTS)))
    return dict(statuses)


async def measure(base_url: str, seconds: float, rotate: bool) -> dict[str, object]:
    load = os.getloadavg()[0]
    baseline = await probe(base_url, seconds)
    worker = subprocess.Popen(  # noqa: ASYNC220 - the storm runs in its own process
        [sys.executable, __file__, "--storm", base_url, str(seconds + 1), str(int(rotate))],
        stdout=subprocess.PIPE,
    )
    await asyncio.sleep(1.0)  # let the storm reach full speed before probing
    during = await probe(base_url, seconds)
    out, _ = await asyncio.to_thread(worker.communicate)
    return {"baseline": baseline, "storm": during, "logins": json.loads(out), "load": load}


def run(backend: str, seconds: float, src: Path) -> list[tuple[str, str, dict[str, object]]]:
    db = BenchDatabase(backend, DEFAULT_POSTGRES_URL)
    rows = []
    try:
        asyncio.run(_add_user(db.url))
        for mode, env, rotate in (
            ("throttled", {}, False),
            ("hashing", {"WEDSYNC_LOGIN_MAX_FAILURES": str(10**9)}, True),
        ):
            console.print(f"[bold]{backend}[/], {mode}: {seconds:.0f} s baseline, then storm")
            with running_server(db.url, env={"PYTHONPATH": str(src), **env}) as server:
                rows.append((backend, mode, asyncio.run(measure(server.base_url, seconds, rotate))))
    finally:
        db.drop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="Length of each phase")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument(
        "--src",
        type=Path,
        default=SRC,
        help="Source folder the server runs (e.g. an older checkout)",
    )
    parser.add_argument("--storm", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.storm:
        url, seconds, rotate = args.storm
        print(json.dumps(asyncio.run(storm(url, float(seconds), rotate == "1"))))
        return
    table = Table(
        "backend",
        "storm",
        "healthz p50 / p99 (no storm)",
        "healthz p50 / p99 (storm)",
        "max (storm)",
        "logins answered",
        "load avg (1 min)",
        title=f"/healthz while {STORM_CLIENTS} clients fail logins",
    )
    for backend in args.backends:
        for backend_, mode, result in run(backend, args.seconds, args.src.resolve()):
            base, during = result["baseline"], result["storm"]
            assert isinstance(base, list)
            assert isinstance(during, list)
            b50, b99 = p50_p99(base)
            s50, s99 = p50_p99(during)
            logins = result["logins"]
            assert isinstance(logins, dict)
            total = sum(logins.values())
            answered = ", ".join(f"{n:,}× {status}" for status, n in sorted(logins.items()))
            table.add_row(
                backend_,
                mode,
                f"{fmt_ms(b50)} / {fmt_ms(b99)}",
                f"{fmt_ms(s50)} / {fmt_ms(s99)}" + (" ✓" if s99 < 0.020 else " ✗ (goal < 20 ms)"),
                fmt_ms(max(during)),
                f"{total / (args.seconds + 1):,.0f}/s ({answered})",
                f"{result['load']:.1f}",
            )
    console.print(table)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
