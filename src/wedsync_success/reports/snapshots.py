"""Stale-while-revalidate snapshots of the overview.

The overview aggregates every active supplier (a full scan at 100K+), while its numbers move
slowly; what must be instant (new milestones, risk changes) reaches pages over the live feed.
So the overview is computed at most once per ``max_age`` per day: a request that finds an
older snapshot gets it at once and triggers one background refresh. Only the very first
request of a day waits for the computation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import structlog

from wedsync_success.db import Database
from wedsync_success.kit.currency import Rates
from wedsync_success.reports.overview import overview
from wedsync_success.reports.schemas import Overview

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class _Snapshot:
    report: Overview
    computed: float  # time.monotonic()


class OverviewSnapshots:
    """The latest overview per as-of day, refreshed in the background when older than max_age."""

    def __init__(
        self,
        db: Database,
        *,
        max_age_seconds: float,
        rates: Rates,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._rates = rates
        self._max_age = max_age_seconds
        self._monotonic = monotonic
        self._snapshots: dict[date, _Snapshot] = {}
        self._refreshing: dict[date, asyncio.Task[None]] = {}
        self._first: dict[date, asyncio.Lock] = {}

    async def get(self, as_of: date) -> Overview:
        """The overview as of ``as_of``: at most ``max_age`` old, refreshed behind the scenes."""
        if self._max_age == 0:
            return (await self._compute(as_of)).report
        snapshot = self._snapshots.get(as_of)
        if snapshot is None:
            async with self._first.setdefault(as_of, asyncio.Lock()):
                snapshot = self._snapshots.get(as_of) or await self._compute(as_of)
        elif self._monotonic() - snapshot.computed > self._max_age:
            self._refresh_in_background(as_of)
        return snapshot.report

    async def _compute(self, as_of: date) -> _Snapshot:
        async with self._db.sessions() as session:
            report = await overview(session, as_of=as_of, rates=self._rates, today=as_of)
        snapshot = _Snapshot(report, self._monotonic())
        self._snapshots = {as_of: snapshot}  # keep only the current day
        return snapshot

    def _refresh_in_background(self, as_of: date) -> None:
        task = self._refreshing.get(as_of)
        if task is not None and not task.done():
            return

        async def refresh() -> None:
            try:
                await self._compute(as_of)
            except Exception:  # the stale snapshot stays; the next request tries again
                log.exception("overview_refresh_failed", as_of=as_of.isoformat())

        self._refreshing[as_of] = asyncio.create_task(refresh())

    async def settled(self) -> None:
        """Wait for background refreshes under way (tests, shutdown)."""
        await asyncio.gather(*self._refreshing.values())
