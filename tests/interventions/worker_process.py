"""``wedsync-success worker`` as a real subprocess of a test, and waiting on conditions."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import wedsync_success
from tests.conftest import TEST_SECRET_KEY

SRC = Path(wedsync_success.__file__).resolve().parents[1]
"""The source tree under test, so the subprocess runs this code and not an installed copy."""

WAIT_SECONDS = 180.0
"""How long a condition may take on a loaded two-core machine before the test fails."""


def worker_env(*, database_url: str, playbooks: Path, **settings: str) -> dict[str, str]:
    """This process's environment without any ``WEDSYNC_*`` of its own, plus the worker's
    settings (``smtp_url=…`` becomes ``WEDSYNC_SMTP_URL``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEDSYNC_")}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [env.get("PYTHONPATH")])])
    env.update(
        WEDSYNC_DATABASE_URL=database_url,
        WEDSYNC_SECRET_KEY=TEST_SECRET_KEY,
        WEDSYNC_PLAYBOOKS_CONFIG=str(playbooks),
        WEDSYNC_WORKER_LEASE_SECONDS="2",
        WEDSYNC_WORKER_INTERVAL_SECONDS="0.2",
        WEDSYNC_DISPATCH_INTERVAL_SECONDS="0.2",
        WEDSYNC_LOG_LEVEL="WARNING",
    )
    env.update({f"WEDSYNC_{name.upper()}": value for name, value in settings.items()})
    return env


class WorkerProcess:
    """One ``python -m wedsync_success.cli worker --name NAME``; its output goes to a file."""

    def __init__(self, name: str, env: Mapping[str, str], logs: Path) -> None:
        self.name = name
        self.log = logs / f"{name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "wedsync_success.cli", "worker", "--name", name],
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def ready(self) -> bool:
        """The worker has printed that it is working due steps."""
        return f"Worker {self.name} working" in self.output()

    def kill(self) -> None:
        """``kill -9``: no cleanup, no last record, whatever it was doing."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=WAIT_SECONDS)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=WAIT_SECONDS)


async def wait_for(
    condition: Callable[[], bool | Awaitable[bool]],
    what: str,
    *,
    workers: tuple[WorkerProcess, ...] = (),
) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` (and the workers' output) when
    it does not within :data:`WAIT_SECONDS` or a worker died meanwhile."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        dead = [w for w in workers if w.process.poll() is not None]
        if dead or time.monotonic() > deadline:
            logs = "\n".join(
                f"--- {w.name} (exit {w.process.poll()}):\n{w.output()}" for w in workers
            )
            reason = f"worker {dead[0].name} exited" if dead else f"not within {WAIT_SECONDS:.0f}s"
            raise AssertionError(f"waiting for {what}: {reason}\n{logs}")
        await asyncio.sleep(0.05)
