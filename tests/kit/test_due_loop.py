"""The loop of the durable-work workers (interventions, webhooks, marketing): a full round
goes again at once, a failed round is logged and the loop lives on, a notify wakes a
sleeping loop, and the sleep lasts until the next work is due, at most the interval."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from tests.conftest import FakeClock
from wedsync_success.kit.due_loop import DueLoop

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
FOREVER = 3600.0  # an interval no test waits for: only notify or full rounds move the loop


class Scripted(DueLoop):
    """A loop whose rounds follow a script: "full", "idle" or "fail"; it stops at the end."""

    error_event = "scripted_worker_error"

    def __init__(self, script: list[str], stop: asyncio.Event, *, due: datetime | None = None):
        super().__init__(clock=FakeClock(NOW))
        self.script = list(script)
        self.stop = stop
        self.due = due
        self.rounds: list[str] = []
        self.idle = asyncio.Event()

    async def round(self) -> bool:
        step = self.script.pop(0)
        self.rounds.append(step)
        if not self.script:  # the end: stop, and wake the loop to see it
            self.stop.set()
            self.notify()
        if step == "fail":
            raise RuntimeError("database away")
        if step == "idle":
            self.idle.set()
        return step == "full"

    async def next_due(self) -> datetime | None:
        return self.due


async def test_full_rounds_follow_each_other_without_sleeping() -> None:
    stop = asyncio.Event()
    loop = Scripted(["full", "full", "full"], stop)
    await asyncio.wait_for(loop.run(stop, interval=FOREVER), timeout=10)
    assert loop.rounds == ["full", "full", "full"]


async def test_a_failed_round_is_logged_and_the_loop_goes_on() -> None:
    stop = asyncio.Event()
    loop = Scripted(["fail", "full", "full"], stop, due=NOW)  # due now: no sleep after it
    with capture_logs() as logs:
        await asyncio.wait_for(loop.run(stop, interval=FOREVER), timeout=10)
    assert loop.rounds == ["fail", "full", "full"]
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["scripted_worker_error"]


async def test_notify_wakes_a_sleeping_loop() -> None:
    stop = asyncio.Event()
    loop = Scripted(["idle", "idle"], stop)
    running = asyncio.create_task(loop.run(stop, interval=FOREVER))
    await asyncio.wait_for(loop.idle.wait(), timeout=10)
    loop.idle.clear()
    loop.notify()
    await asyncio.wait_for(running, timeout=10)
    assert loop.rounds == ["idle", "idle"]


@pytest.mark.parametrize(
    ("due", "sleep"),
    [
        (None, 60.0),  # nothing pending: the interval
        (NOW + timedelta(seconds=5), 5.0),  # due sooner than the interval
        (NOW + timedelta(hours=2), 60.0),  # due later: the interval
        (NOW - timedelta(seconds=30), 0.0),  # overdue: at once
    ],
)
async def test_the_loop_sleeps_until_the_next_work_is_due(
    due: datetime | None, sleep: float
) -> None:
    loop = Scripted(["idle"], asyncio.Event(), due=due)
    assert await loop._idle(60.0) == sleep


async def test_when_the_next_due_time_cannot_be_read_the_loop_sleeps_the_interval() -> None:
    class Unreadable(Scripted):
        async def next_due(self) -> datetime | None:
            raise OSError("connection refused")

    assert await Unreadable(["idle"], asyncio.Event())._idle(60.0) == 60.0
