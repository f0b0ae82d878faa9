"""The loop every worker of durable, due-dated work runs (intervention jobs, webhook
deliveries, marketing messages): work a round; when the round was full, go again at once;
otherwise sleep until :meth:`DueLoop.notify`, the next due time, or ``interval`` seconds,
whichever comes first. The work lives in the database, so a round that fails is logged and
the loop goes on: nothing is lost, it is claimed again."""

from __future__ import annotations

import abc
import asyncio
import contextlib
from datetime import datetime
from typing import ClassVar

import structlog

from wedsync_success.kit.clock import Clock

log = structlog.get_logger(__name__)


class DueLoop(abc.ABC):
    """Base of a worker whose work has due times; subclasses say what a round is and when
    the next work falls due."""

    error_event: ClassVar[str]
    """The log event of a failed round (e.g. ``webhook_worker_error``)."""

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """Look for due work now (after a commit that queued some)."""
        self._wake.set()

    @abc.abstractmethod
    async def round(self) -> bool:
        """Work one round of due work; True when it was full (more may be due already)."""

    @abc.abstractmethod
    async def next_due(self) -> datetime | None:
        """When the earliest pending work falls due; None when nothing is pending."""

    async def run(self, stop: asyncio.Event, *, interval: float) -> None:
        """Work rounds until ``stop`` is set, waking on :meth:`notify`, when the next work
        falls due, or every ``interval`` seconds."""
        while not stop.is_set():
            self._wake.clear()
            full = False
            try:
                full = await self.round()
            except Exception:  # keep the loop alive: the work stays in the database
                log.exception(self.error_event)
            if full:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=await self._idle(interval))

    async def _idle(self, interval: float) -> float:
        """Seconds to sleep: until the next work falls due, at most ``interval``."""
        try:
            due = await self.next_due()
        except Exception:  # the database is away: try again after the interval
            return interval
        if due is None:
            return interval
        return max(0.0, min(interval, (due - self._clock()).total_seconds()))
