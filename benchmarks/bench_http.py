"""A real API server in a subprocess and a concurrent HTTP load generator (127.0.0.1 only)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

HOST = "127.0.0.1"

if importlib.util.find_spec("sniffio") is None:
    # httpcore runs ``import sniffio`` every time it creates a pool lock; without the package
    # (anyio no longer depends on it) each failed import rescans sys.path, costing the load
    # generator ~0.3 ms of CPU per request. A ``None`` entry makes that import fail at once,
    # and httpcore then assumes asyncio, which is what runs here.
    sys.modules["sniffio"] = None  # type: ignore[assignment]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    peak_rss_mb: float | None = None
    """The server process's peak resident memory (``VmHWM``), read just before it is stopped."""


def process_rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """(current, peak) resident memory of a process in MB, from ``/proc/<pid>/status``."""
    fields = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", float("nan")), fields.get("VmHWM", float("nan"))


def _cli() -> str:
    """The ``wedsync-success`` entry point installed next to this interpreter."""
    script = Path(sys.executable).parent / "wedsync-success"
    if not script.exists():
        raise RuntimeError(f"{script} not found: install the project into this virtualenv")
    return str(script)


@contextmanager
def running_server(
    database_url: str,
    *,
    ready_timeout: float = 60.0,
    env: dict[str, str] | None = None,
    args: Sequence[str] = (),
) -> Iterator[Server]:
    """``wedsync-success serve`` on a free port of 127.0.0.1, ready (``/readyz``) on entry.

    ``env`` adds or overrides ``WEDSYNC_*`` settings; a session key is made up when none is set.
    ``args`` go to ``serve`` after the host and port (e.g. ``["--workers", "4"]``).

    The server runs as it does in production: uvicorn, one worker, outbox dispatcher on.
    It is terminated (then killed if it lingers) on exit, even after an error.
    """
    port = free_port()
    env = {
        **os.environ,
        "WEDSYNC_SECRET_KEY": os.environ.get("WEDSYNC_SECRET_KEY") or secrets.token_urlsafe(48),
        "WEDSYNC_DATABASE_URL": database_url,
        "WEDSYNC_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    workdir = Path(tempfile.mkdtemp(prefix="wedsync_bench_server_"))  # no stray .env picked up
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [_cli(), "serve", "--host", HOST, "--port", str(port), *args],
            env=env,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(base_url=f"http://{HOST}:{port}", process=process, log_path=log_path)
    try:
        _wait_ready(server, ready_timeout)
        yield server
    except BaseException:
        tail = log_path.read_text(errors="replace")[-4000:]
        print(f"--- API server log (last 4,000 characters) ---\n{tail}", file=sys.stderr)
        raise
    finally:
        if process.poll() is None:
            server.peak_rss_mb = process_rss_mb(process.pid)[1]
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=server.base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"API server exited with {server.process.returncode}:\n"
                    + server.log_path.read_text(errors="replace")[-4000:]
                )
            try:
                if client.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"API server not ready after {timeout:.0f} s")


@dataclass(frozen=True)
class LoadResult:
    latencies: list[float]
    wall: float
    statuses: dict[int, int]
    client_cpu: float
    """CPU seconds this process (the load generator) spent during the run."""

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall

    @property
    def failures(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)


async def fire(client: httpx.AsyncClient, paths: Sequence[str], *, concurrency: int) -> LoadResult:
    """GET every path with ``concurrency`` tasks sharing ``client``; client-side latencies."""
    todo = iter(paths)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    async def worker() -> None:
        for path in todo:  # one shared iterator: each path is taken by exactly one task
            started = time.perf_counter()
            response = await client.get(path)
            latencies.append(time.perf_counter() - started)
            statuses[response.status_code] += 1

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return LoadResult(
        latencies,
        time.perf_counter() - started,
        dict(statuses),
        time.process_time() - cpu,
    )


_METRIC = re.compile(r"^wedsync_http_request_seconds_(bucket|sum|count)\{(.*)\} (\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class ServerTimes:
    """The server's own request-duration histogram for one route (``/metrics``)."""

    buckets: dict[float, float]  # upper bound -> cumulative count
    total: float
    count: float

    def __sub__(self, other: ServerTimes) -> ServerTimes:
        return ServerTimes(
            {le: n - other.buckets.get(le, 0.0) for le, n in self.buckets.items()},
            self.total - other.total,
            self.count - other.count,
        )

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else float("nan")

    def quantile(self, q: float) -> float:
        """Like PromQL ``histogram_quantile``: linear within the bucket holding the rank."""
        rank, lower, below = q * self.count, 0.0, 0.0
        for le in sorted(self.buckets):
            n = self.buckets[le]
            if n >= rank:
                if le == float("inf"):
                    return lower
                return lower + (le - lower) * ((rank - below) / (n - below) if n > below else 0)
            lower, below = le, n
        return float("nan")


async def server_times(client: httpx.AsyncClient, route: str) -> ServerTimes:
    """The server-side histogram of successful GETs of ``route`` so far."""
    text = (await client.get("/metrics")).text
    buckets: dict[float, float] = {}
    total = count = 0.0
    for line in text.splitlines():
        match = _METRIC.match(line)
        if not match:
            continue
        kind, labels_text, value = match.groups()
        labels = dict(_LABEL.findall(labels_text))
        if (labels.get("method"), labels.get("status")) != ("GET", "200") or not (
            route.endswith(labels.get("route", "\0"))
        ):
            continue  # the label is the route's path within its router, without the prefix
        if kind == "bucket":
            buckets[float(labels["le"])] = float(value)
        elif kind == "sum":
            total = float(value)
        else:
            count = float(value)
    return ServerTimes(buckets, total, count)


def client_for(server: Server, *, api_key: str, concurrency: int) -> httpx.AsyncClient:
    """One client, at most ``concurrency`` connections, authenticated with ``api_key``."""
    return httpx.AsyncClient(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {api_key}"},
        # keep-alive shorter than uvicorn's 5 s, so the client never reuses a connection the
        # server is closing at that very moment (a spurious ReadError under load)
        limits=httpx.Limits(
            max_connections=concurrency,
            max_keepalive_connections=concurrency,
            keepalive_expiry=2.0,
        ),
        timeout=httpx.Timeout(60.0),
    )
