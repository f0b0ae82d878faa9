"""The outbox dispatcher: delivers committed success events at least once, in order per supplier.

It polls the outbox (and is woken early after a commit that wrote events), hands pending events
to the transport, marks the ones every consumer accepted as published, and backs off
exponentially on the ones that failed. An event whose supplier has an earlier event still
waiting for a retry is held back, so one supplier's events are never seen out of order.
One dispatcher is active at a time, however many processes run one (an API server and
``import events`` at once, say): on PostgreSQL a transaction-scoped advisory lock elects it
(the others skip the round); on SQLite a round is a write transaction (``BEGIN IMMEDIATE``),
so a second dispatcher waits and then reads the outbox as the first left it. Either way a
round that finds the lock taken is counted in ``wedsync_dispatcher_lock_contention_total``.

A drain stops after a round that read less than a batch: it saw the whole outbox, and an
event committed since comes with its own ``notify`` (so no empty round after each event).
A dispatcher that found the lock taken looks again after ``lock_retry`` rather than at its
next poll: the holder may have read the outbox before this process's events committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from prometheus_client import Counter
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db import Database
from wedsync_success.events.bus import Transport
from wedsync_success.events.models import OutboxEvent
from wedsync_success.events.types import SuccessEvent
from wedsync_success.kit.clock import Clock, utc_now

log = structlog.get_logger(__name__)

_ADVISORY_LOCK_KEY = 0x5EDD15  # any constant shared by every dispatcher of this database

LOCK_CONTENTION = Counter(
    "wedsync_dispatcher_lock_contention_total",
    "Dispatch rounds that found the outbox lock taken: by another dispatcher (PostgreSQL; "
    "the round is skipped) or by another writer (SQLite; the round waits for it).",
    ["backend"],
)


@dataclass(frozen=True)
class DispatchStats:
    delivered: int
    failed: int
    held_back: int
    full: bool = False
    """The round read a whole batch: more events may be waiting behind it."""
    contended: bool = False
    """Another dispatcher held the outbox lock (PostgreSQL): the round did nothing."""


class Dispatcher:
    """Moves events from the outbox to the transport."""

    def __init__(
        self,
        *,
        db: Database,
        transport: Transport,
        clock: Clock = utc_now,
        batch_size: int = 500,
        base_backoff: timedelta = timedelta(seconds=1),
        max_backoff: timedelta = timedelta(minutes=5),
        lock_retry: timedelta = timedelta(milliseconds=20),
    ) -> None:
        self._db = db
        self._transport = transport
        self._clock = clock
        self._batch_size = batch_size
        self._base_backoff = base_backoff
        self._max_backoff = max_backoff
        self._lock_retry = lock_retry.total_seconds()
        self._wake = asyncio.Event()
        self._after_delivery: list[Callable[[], None]] = []
        LOCK_CONTENTION.labels(backend=db.dialect)  # shown (at 0) before any contention

    def after_delivery(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after each round that delivered events has committed (e.g. to
        wake the intervention worker for the steps a consumer just scheduled)."""
        self._after_delivery.append(listener)

    def announce_delivery(self) -> None:
        """Run the :meth:`after_delivery` listeners: after a round of this dispatcher, or
        after a worker of a broker transport handled events (its consumers ran there)."""
        for listener in self._after_delivery:
            listener()

    def notify(self) -> None:
        """Ask the running loop to look at the outbox now (call after a commit)."""
        self._wake.set()

    async def dispatch_once(self) -> DispatchStats:
        """Deliver one batch of pending events."""
        now = self._clock()
        async with self._db.transaction(on_lock_wait=self._note_contention) as session:
            if self._db.dialect == "postgresql" and not await session.scalar(
                select(func.pg_try_advisory_xact_lock(_ADVISORY_LOCK_KEY))
            ):
                self._note_contention()
                return DispatchStats(0, 0, 0, contended=True)
            rows = (
                await session.scalars(
                    select(OutboxEvent)
                    .where(OutboxEvent.published_at.is_(None))
                    .order_by(OutboxEvent.id)
                    .limit(self._batch_size)
                )
            ).all()
            ready, held_back = self._in_order(rows, now)
            outcome = await self._transport.publish(
                session=session, events=[_to_event(r) for r in ready], now=now
            )
            if outcome.delivered:
                # No session synchronisation: matching the loaded rows against the IN list
                # in Python cost a quarter of a round of 500 (the session ends here anyway).
                await session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.event_id.in_(outcome.delivered))
                    .values(published_at=now, next_attempt_at=None, last_error=None)
                    .execution_options(synchronize_session=False)
                )
            await self._schedule_retries(session, ready, outcome.failed, now)
        if outcome.failed:
            log.warning("outbox_delivery_failed", failed=len(outcome.failed))
        if outcome.delivered:
            self.announce_delivery()
        return DispatchStats(
            len(outcome.delivered),
            len(outcome.failed),
            held_back,
            full=len(rows) >= self._batch_size,
        )

    def _note_contention(self) -> None:
        LOCK_CONTENTION.labels(backend=self._db.dialect).inc()

    async def drain(self, *, max_rounds: int = 10_000) -> int:
        """Dispatch until nothing more can be delivered now; returns how many were delivered."""
        total, _ = await self._drain(max_rounds)
        return total

    async def _drain(self, max_rounds: int) -> tuple[int, bool]:
        """How many were delivered, and whether the last round found the lock taken."""
        total = 0
        for _ in range(max_rounds):
            stats = await self.dispatch_once()
            total += stats.delivered
            if stats.delivered == 0 or not stats.full:
                return total, stats.contended
        return total, False

    async def run(self, stop: asyncio.Event, *, interval: float) -> None:
        """Dispatch until ``stop`` is set, waking on :meth:`notify` or every ``interval`` s
        (after ``lock_retry`` when another dispatcher held the outbox)."""
        while not stop.is_set():
            self._wake.clear()  # before draining: a notify during the drain is not lost
            contended = False
            try:
                _, contended = await self._drain(10_000)
            except Exception:  # keep the loop alive; the events stay in the outbox
                log.exception("dispatcher_error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(),
                    timeout=min(interval, self._lock_retry) if contended else interval,
                )

    def _in_order(
        self, rows: Sequence[OutboxEvent], now: datetime
    ) -> tuple[list[OutboxEvent], int]:
        """Rows ready now, skipping any behind an earlier event of the same supplier in backoff."""
        waiting: set[uuid.UUID | None] = set()
        ready: list[OutboxEvent] = []
        for row in rows:
            if row.supplier_id in waiting:
                continue
            if row.next_attempt_at is not None and row.next_attempt_at > now:
                waiting.add(row.supplier_id)
                continue
            ready.append(row)
        return ready, len(rows) - len(ready)

    async def _schedule_retries(
        self,
        session: AsyncSession,
        rows: list[OutboxEvent],
        failed: dict[uuid.UUID, str],
        now: datetime,
    ) -> None:
        for row in rows:
            if row.event_id not in failed:
                continue
            delay = min(self._base_backoff * (2**row.attempts), self._max_backoff)
            row.attempts += 1
            row.next_attempt_at = now + delay
            row.last_error = failed[row.event_id][:2000]
        await session.flush()


def _to_event(row: OutboxEvent) -> SuccessEvent:
    return SuccessEvent(
        sequence=row.id,
        event_id=row.event_id,
        event_type=row.event_type,
        supplier_id=row.supplier_id,
        occurred_at=row.occurred_at,
        payload=row.payload,
    )
