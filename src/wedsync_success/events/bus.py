"""Event bus transports: how dispatched success events reach their consumers.

A transport receives events in outbox order and reports which of them every consumer has
accepted. The in-process transport calls registered handlers directly and records one
receipt per (consumer, event), so after a crash a consumer is never handed an event it had
already acknowledged, and always handed one it had not.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db.upsert import dialect_insert
from wedsync_success.events.models import ConsumerReceipt
from wedsync_success.events.types import SuccessEvent

Handler = Callable[[SuccessEvent], Awaitable[None]]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Subscription:
    """A named consumer and the event types it wants (``None``: all of them)."""

    consumer: str
    handler: Handler
    event_types: frozenset[str] | None = None

    def wants(self, event: SuccessEvent) -> bool:
        return self.event_types is None or event.event_type in self.event_types


@dataclass
class PublishOutcome:
    """Which events were fully handed off, and why the others were not."""

    delivered: list[uuid.UUID] = field(default_factory=list)
    failed: dict[uuid.UUID, str] = field(default_factory=dict)


class Transport(Protocol):
    """Where the dispatcher hands events; implementations choose in-process or a broker."""

    def subscribe(
        self, consumer: str, handler: Handler, event_types: Sequence[str] | None = None
    ) -> None: ...

    async def publish(
        self, *, session: AsyncSession, events: Sequence[SuccessEvent], now: datetime
    ) -> PublishOutcome: ...


class InProcessTransport:
    """Delivers to handlers in this process, in order per supplier, recording receipts."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, Subscription] = {}

    def subscribe(
        self, consumer: str, handler: Handler, event_types: Sequence[str] | None = None
    ) -> None:
        """Register ``handler`` as ``consumer``; the name keys its receipts, so keep it stable."""
        if consumer in self._subscriptions:
            raise ValueError(f"consumer {consumer!r} is already subscribed")
        types = frozenset(event_types) if event_types is not None else None
        self._subscriptions[consumer] = Subscription(consumer, handler, types)

    @property
    def consumers(self) -> list[str]:
        return list(self._subscriptions)

    async def publish(
        self, *, session: AsyncSession, events: Sequence[SuccessEvent], now: datetime
    ) -> PublishOutcome:
        outcome = PublishOutcome()
        if not events:
            return outcome
        acked = await self._receipts(session, [e.event_id for e in events])
        blocked_suppliers: set[uuid.UUID | None] = set()
        new_receipts: list[dict[str, object]] = []
        for event in events:
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


def create_transport(url: str) -> Transport:
    """The transport named by ``WEDSYNC_EVENT_BUS_URL``."""
    if url.startswith("memory://"):
        return InProcessTransport()
    raise ValueError(f"unsupported event bus URL {url!r}; supported: memory://")
