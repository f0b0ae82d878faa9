"""One unit of work: open, run, commit once, then wake whoever waits for committed work.

A request or job hands its whole transaction to :meth:`UnitOfWork.run`. When the database
refuses it for contention (PostgreSQL deadlock ``40P01``, serialization failure ``40001``,
lock timeout ``55P03``; SQLite busy/locked), the *whole* transaction is rolled back and run
again, a bounded number of times, after a jittered exponential pause. Locks taken in one
global order (:mod:`wedsync_success.db.locks`) make deadlocks impossible by construction;
this is the second line of defence. When every attempt fails, or no connection frees up
in time, :class:`~wedsync_success.kit.errors.ServiceUnavailable` says "try again later"
(503 with ``Retry-After``), never a 500.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from prometheus_client import Counter
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db.engine import SQLITE_BUSY, Database, begin_write
from wedsync_success.kit.errors import ServiceUnavailable

T = TypeVar("T")

log = structlog.get_logger(__name__)

RETRIED_SQLSTATES = frozenset({"40P01", "40001", "55P03"})
"""deadlock_detected, serialization_failure, lock_not_available."""
SQLITE_LOCKED = 6

RETRIES = Counter(
    "wedsync_transaction_retries_total",
    "Units of work rolled back for contention and run again, by reason.",
    ["reason"],
)
GAVE_UP = Counter(
    "wedsync_transaction_unavailable_total",
    "Units of work that still failed for contention after every attempt (answered 503).",
)


def contention_reason(exc: BaseException) -> str | None:
    """Why the database refused the transaction for contention, or None if it did not."""
    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in RETRIED_SQLSTATES:
        return str(sqlstate)
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED):
        return "sqlite_busy"
    return None


class UnitOfWork:
    """Runs work in one write transaction, retried as a whole on contention."""

    def __init__(
        self,
        db: Database,
        *,
        after_commit: Callable[[], None] | None = None,
        session: AsyncSession | None = None,
        attempts: int = 5,
        base_delay: float = 0.02,
        max_delay: float = 0.5,
        retry_after_seconds: int = 1,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """``session``: reuse one (a request's, already used to authenticate) rather than
        open one per run. ``after_commit`` runs once the work is committed."""
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._db = db
        self._after_commit = after_commit
        self._session = session
        self._attempts = attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._retry_after = retry_after_seconds
        self._sleep = sleep
        self._jitter = jitter

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``work(session)`` and commit; the work must not commit itself."""
        reason = ""
        for attempt in range(1, self._attempts + 1):
            try:
                result = await self._attempt(work)
            except PoolTimeout as exc:
                GAVE_UP.inc()
                raise ServiceUnavailable(
                    "The service is overloaded: no database connection became free in time",
                    retry_after_seconds=self._retry_after,
                    details=[{"field": "database", "reason": "connection pool exhausted"}],
                ) from exc
            except DBAPIError as exc:
                found = contention_reason(exc)
                if found is None:
                    raise
                reason = found
                RETRIES.labels(reason=reason).inc()
                log.info("transaction_retry", reason=reason, attempt=attempt)
                if attempt < self._attempts:
                    await self._sleep(self._delay(attempt))
                continue
            if self._after_commit is not None:
                self._after_commit()
            return result
        GAVE_UP.inc()
        raise ServiceUnavailable(
            f"The database stayed contended for {self._attempts} attempts; try again shortly",
            retry_after_seconds=self._retry_after,
            details=[{"field": "database", "reason": reason}],
        )

    def _delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, base * 2^(attempt-1)], capped."""
        cap = min(self._max_delay, self._base_delay * 2.0 ** (attempt - 1))
        return cap * self._jitter()

    async def _attempt(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        if self._session is None:
            async with self._db.sessions() as session:
                return await self._in_transaction(session, work)
        if self._session.in_transaction():
            # End the request's read transaction (authentication) before writing.
            await self._session.commit()
        return await self._in_transaction(self._session, work)

    async def _in_transaction(
        self, session: AsyncSession, work: Callable[[AsyncSession], Awaitable[T]]
    ) -> T:
        async with self._db.writing(), session.begin():
            await begin_write(session)
            return await work(session)
