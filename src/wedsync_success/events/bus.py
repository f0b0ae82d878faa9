"""Event bus transports: how dispatched success events reach their consumers.

A transport receives events in outbox order and reports which of them every consumer has
accepted. The in-process transport calls registered handlers directly and records one
receipt per (consumer, event), so after a crash a consumer is never handed an event it had
already acknowledged, and always handed one it had not. The Redis Streams transport
(``redis_transport.py``) only appends events to streams; ``wedsync-success worker`` processes
read them per consumer group and deliver them through an in-process transport of one
consumer each, with the same receipts.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db.upsert import dialect_insert
from wedsync_success.events.models import ConsumerReceipt
from wedsync_success.events.types import SuccessEvent

if TYPE_CHECKING:
    from wedsync_success.config import Settings
    from wedsync_success.db import Database
    from wedsync_success.kit.clock import Clock

Handler = Callable[[SuccessEvent], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, Sequence[SuccessEvent], datetime], Awaitable[None]]
"""A transactional consumer: it writes through the dispatcher's session, so what it writes
commits together with its receipts, or neither does (exactly-once effects)."""

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Subscription:
    """A named consumer and the event types it wants (``None``: all of them)."""

    consumer: str
    handler: Handler
    event_types: frozenset[str] | None = None

    def wants(self, event: SuccessEvent) -> bool:
        return self.event_types is None or event.event_type in self.event_types


@dataclass(frozen=True)
class BatchSubscription:
    """A transactional consumer of the event types it names."""

    consumer: str
    handler: BatchHandler
    event_types: frozenset[str]


@dataclass
class PublishOutcome:
    """Which events were fully handed off, and why the others were not."""

    delivered: list[uuid.UUID] = field(default_factory=list)
    failed: dict[uuid.UUID, str] = field(default_factory=dict)


class ConsumerWorker(Protocol):
    """Runs a process's share of a broker transport's consumers (``wedsync-success worker``)."""

    async def run(self, stop: asyncio.Event) -> None: ...

    async def drain(self) -> int: ...


class Transport(Protocol):
    """Where the dispatcher hands events; implementations choose in-process or a broker."""

    embedded: bool
    """Whether consumers run inside the dispatcher's round (in-process), rather than in
    ``wedsync-success worker`` processes reading a broker."""

    def subscribe(
        self, consumer: str, handler: Handler, event_types: Sequence[str] | None = None
    ) -> None: ...

    def subscribe_batch(
        self, consumer: str, handler: BatchHandler, event_types: Sequence[str]
    ) -> None: ...

    def fan_out(self, handler: Handler) -> None:
        """Hand every event to ``handler`` in each process that serves live pages (no
        receipts: what it misses while the process is down is shown on the next page load)."""

    async def publish(
        self, *, session: AsyncSession, events: Sequence[SuccessEvent], now: datetime
    ) -> PublishOutcome: ...

    async def run_live(self, stop: asyncio.Event) -> None:
        """Feed the fan-out handlers until ``stop`` is set, where events come from elsewhere."""

    def consumer_worker(
        self,
        *,
        db: Database,
        name: str,
        clock: Clock,
        after_delivery: Callable[[], None] | None = None,
    ) -> ConsumerWorker | None:
        """What runs the consumers in a worker process (``None``: they run in the dispatcher)."""

    async def close(self) -> None: ...


class InProcessTransport:
    """Delivers to handlers in this process, in order per supplier, recording receipts.

    Transactional (batch) consumers run first, each in a savepoint of the dispatcher's
    transaction: their writes and their receipts commit together. One that fails is rolled
    back alone and its events count as failed (retried later, in order per supplier).
    """

    embedded = True

    def __init__(self) -> None:
        self._subscriptions: dict[str, Subscription] = {}
        self._batch_subscriptions: dict[str, BatchSubscription] = {}

    def subscribe(
        self, consumer: str, handler: Handler, event_types: Sequence[str] | None = None
    ) -> None:
        """Register ``handler`` as ``consumer``; the name keys its receipts, so keep it stable."""
        self._check_new(consumer)
        types = frozenset(event_types) if event_types is not None else None
        self._subscriptions[consumer] = Subscription(consumer, handler, types)

    def subscribe_batch(
        self, consumer: str, handler: BatchHandler, event_types: Sequence[str]
    ) -> None:
        """Register a transactional consumer, handed each round's events of ``event_types``."""
        self._check_new(consumer)
        self._batch_subscriptions[consumer] = BatchSubscription(
            consumer, handler, frozenset(event_types)
        )

    def fan_out(self, handler: Handler) -> None:
        """In one process the live fan-out is an ordinary consumer (named ``live``)."""
        self.subscribe("live", handler)

    async def run_live(self, stop: asyncio.Event) -> None:
        """Nothing to run: the dispatcher's rounds call the fan-out handler."""

    def consumer_worker(
        self,
        *,
        db: Database,
        name: str,
        clock: Clock,
        after_delivery: Callable[[], None] | None = None,
    ) -> ConsumerWorker | None:
        """None: the dispatcher's rounds run the consumers."""
        return None

    async def close(self) -> None:
        """Nothing to release."""

    def _check_new(self, consumer: str) -> None:
        if consumer in self._subscriptions or consumer in self._batch_subscriptions:
            raise ValueError(f"consumer {consumer!r} is already subscribed")

    @property
    def consumers(self) -> list[str]:
        return [*self._batch_subscriptions, *self._subscriptions]

    async def publish(
        self, *, session: AsyncSession, events: Sequence[SuccessEvent], now: datetime
    ) -> PublishOutcome:
        outcome = PublishOutcome()
        if not events:
            return outcome
        acked = await self._receipts(session, [e.event_id for e in events])
        blocked_suppliers: set[uuid.UUID | None] = set()
        new_receipts: list[dict[str, object]] = []
        batch_errors: dict[uuid.UUID, str] = {}
        for sub in self._batch_subscriptions.values():
            await self._deliver_batch(sub, events, acked, new_receipts, batch_errors, now, session)
        for event in events:
            if event.event_id in batch_errors:
                outcome.failed[event.event_id] = batch_errors[event.event_id]
                blocked_suppliers.add(event.supplier_id)
                continue
            if event.supplier_id in blocked_suppliers:
                outcome.failed[event.event_id] = "an earlier event of this supplier is pending"
                continue
            error = await self._deliver(event, acked, new_receipts, now)
            if error is None:
                outcome.delivered.append(event.event_id)
            else:
                outcome.failed[event.event_id] = error
                blocked_suppliers.add(event.supplier_id)
        if new_receipts:
            # Idempotent: a receipt already written (by a dispatcher that raced this one)
            # stays as it is instead of failing the whole round.
            stmt = dialect_insert(session, ConsumerReceipt).on_conflict_do_nothing(
                index_elements=["consumer", "event_id"]
            )
            await session.execute(stmt, new_receipts)
        return outcome

    @staticmethod
    async def _deliver_batch(
        sub: BatchSubscription,
        events: Sequence[SuccessEvent],
        acked: set[tuple[str, uuid.UUID]],
        new_receipts: list[dict[str, object]],
        errors: dict[uuid.UUID, str],
        now: datetime,
        session: AsyncSession,
    ) -> None:
        wanted = [
            e
            for e in events
            if e.event_type in sub.event_types and (sub.consumer, e.event_id) not in acked
        ]
        if not wanted:
            return
        try:
            async with session.begin_nested():
                await sub.handler(session, wanted, now)
        except Exception as exc:  # rolled back alone; the other consumers go on
            log.warning(
                "consumer_failed", consumer=sub.consumer, events=len(wanted), error=repr(exc)
            )
            for event in wanted:
                errors[event.event_id] = f"{sub.consumer}: {exc!r}"
            return
        new_receipts.extend(
            {"consumer": sub.consumer, "event_id": e.event_id, "acked_at": now} for e in wanted
        )

    async def _deliver(
        self,
        event: SuccessEvent,
        acked: set[tuple[str, uuid.UUID]],
        new_receipts: list[dict[str, object]],
        now: datetime,
    ) -> str | None:
        errors: list[str] = []
        for sub in self._subscriptions.values():
            if not sub.wants(event) or (sub.consumer, event.event_id) in acked:
                continue
            try:
                await sub.handler(event)
            except Exception as exc:  # a consumer's failure must not stop the others
                log.warning(
                    "consumer_failed",
                    consumer=sub.consumer,
                    event_id=str(event.event_id),
                    error=repr(exc),
                )
                errors.append(f"{sub.consumer}: {exc!r}")
                continue
            new_receipts.append(
                {"consumer": sub.consumer, "event_id": event.event_id, "acked_at": now}
            )
        return "; ".join(errors) if errors else None

    @staticmethod
    async def _receipts(
        session: AsyncSession, event_ids: list[uuid.UUID]
    ) -> set[tuple[str, uuid.UUID]]:
        rows = await session.execute(
            select(ConsumerReceipt.consumer, ConsumerReceipt.event_id).where(
                ConsumerReceipt.event_id.in_(event_ids)
            )
        )
        return {(consumer, event_id) for consumer, event_id in rows}


def create_transport(settings: Settings) -> Transport:
    """The transport named by ``WEDSYNC_EVENT_BUS_URL`` (tuned by the other bus settings)."""
    url = settings.event_bus_url
    if url.startswith("memory://"):
        return InProcessTransport()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from wedsync_success.events.redis_transport import RedisStreamTransport

        return RedisStreamTransport.from_settings(settings)
    raise ValueError(f"unsupported event bus URL {url!r}; supported: memory://, redis://")
