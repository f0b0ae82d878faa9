"""Per-API-key rate limits: fixed windows, counted where every API process sees them.

On PostgreSQL the count is a row per (key, window) in ``api_rate_counters``, bumped by one
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` in its own short transaction, so N API
processes share one limit and the row lock is held for microseconds, never for the request.
A process does not bump it on every request: that transaction (a pooled connection, its
ping, the statement, the commit) was the largest cost of a cached read. It counts its own
requests in memory and adds them to the row at most every ``sync_seconds``
(``WEDSYNC_API_RATE_LIMIT_SYNC_SECONDS``, 1 s), at the first request of a window, and
whenever its reckoning (the shared count it last read plus its own since) reaches the limit,
so a refusal is always decided on the shared count. What a process cannot see is the other
processes' requests since their last sync: a key may get past its limit by at most that
(about ``sync_seconds`` of its traffic per other process); 0 syncs every request.
On SQLite (the embedded, single-process deployment) counters live in the process: a write
transaction per request would queue every read behind ingest's writers.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from wedsync_success.access import repository
from wedsync_success.db import Database
from wedsync_success.kit.errors import RateLimited


@dataclass(frozen=True)
class RateDecision:
    """Where a key stands in its current window, as the RateLimit-* headers say it."""

    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }


@dataclass
class _Tally:
    """One key's current window as this process knows it."""

    window_start: datetime
    shared: int = 0
    """The shared count read at the last sync (this process's requests until then included)."""
    unsynced: int = 0
    """This process's requests since that sync."""
    synced_at: datetime | None = None


class ApiRateLimiter:
    """At most ``limit`` requests per key per window of ``window_seconds`` (epoch-aligned)."""

    def __init__(
        self, *, limit: int, window_seconds: int, db: Database, sync_seconds: float = 1.0
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.sync_every = timedelta(seconds=sync_seconds)
        self._db = db if db.dialect == "postgresql" else None
        self._tallies: dict[uuid.UUID, _Tally] = {}

    def _window(self, now: datetime) -> datetime:
        start = int(now.timestamp()) // self.window_seconds * self.window_seconds
        return datetime.fromtimestamp(start, UTC)

    async def _count(self, key_id: uuid.UUID, window_start: datetime, now: datetime) -> int:
        tally = self._tallies.get(key_id)
        if tally is None or tally.window_start != window_start:
            tally = self._tallies[key_id] = _Tally(window_start)
        tally.unsynced += 1
        if self._db is not None and (
            tally.synced_at is None
            or now - tally.synced_at >= self.sync_every
            or tally.shared + tally.unsynced >= self.limit
        ):
            unsynced, tally.unsynced = tally.unsynced, 0
            try:
                async with self._db.transaction() as session:
                    tally.shared = await repository.count_requests(
                        session, key_id=key_id, window_start=window_start, requests=unsynced
                    )
            except BaseException:
                tally.unsynced += unsynced  # counted at the next sync instead
                raise
            tally.synced_at = now
        return tally.shared + tally.unsynced

    async def hit(self, key_id: uuid.UUID, *, now: datetime) -> RateDecision | None:
        """Count one request of ``key_id``; raise :class:`RateLimited` beyond the limit.

        None when limits are off (``limit`` 0).
        """
        if self.limit == 0:
            return None
        window_start = self._window(now)
        count = await self._count(key_id, window_start, now)
        reset = window_start + timedelta(seconds=self.window_seconds) - now
        decision = RateDecision(
            limit=self.limit,
            remaining=max(0, self.limit - count),
            reset_seconds=max(1, math.ceil(reset.total_seconds())),
        )
        if count > self.limit:
            raise RateLimited(
                f"This API key made more than {self.limit} requests in "
                f"{self.window_seconds} s; try again in {decision.reset_seconds} s",
                retry_after=decision.reset_seconds,
                headers=decision.headers(),
            )
        return decision
