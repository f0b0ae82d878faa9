"""Per-API-key rate limits: fixed windows, counted where every API process sees them.

On PostgreSQL the count is a row per (key, window) in ``api_rate_counters``, bumped by one
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` in its own short transaction, so N API
processes share one limit and the row lock is held for microseconds, never for the request.
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


class ApiRateLimiter:
    """At most ``limit`` requests per key per window of ``window_seconds`` (epoch-aligned)."""

    def __init__(self, *, limit: int, window_seconds: int, db: Database) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._db = db if db.dialect == "postgresql" else None
        self._local: dict[uuid.UUID, tuple[datetime, int]] = {}

    def _window(self, now: datetime) -> datetime:
        start = int(now.timestamp()) // self.window_seconds * self.window_seconds
        return datetime.fromtimestamp(start, UTC)

    async def _count(self, key_id: uuid.UUID, window_start: datetime) -> int:
        if self._db is not None:
            async with self._db.transaction() as session:
                return await repository.count_request(
                    session, key_id=key_id, window_start=window_start
                )
        start, count = self._local.get(key_id, (window_start, 0))
        count = count + 1 if start == window_start else 1
        self._local[key_id] = (window_start, count)
        return count

    async def hit(self, key_id: uuid.UUID, *, now: datetime) -> RateDecision | None:
        """Count one request of ``key_id``; raise :class:`RateLimited` beyond the limit.

        None when limits are off (``limit`` 0).
        """
        if self.limit == 0:
            return None
        window_start = self._window(now)
        count = await self._count(key_id, window_start)
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
