"""Outbound webhooks wired into one process: the bus consumer and the delivery worker."""

from __future__ import annotations

from wedsync_success.config import Settings
from wedsync_success.db import Database
from wedsync_success.events.bus import Transport
from wedsync_success.integrations.webhooks.sealing import SecretSealer
from wedsync_success.integrations.webhooks.service import (
    CONSUMED_TYPES,
    CONSUMER,
    DeliveryPolicy,
    on_success_events,
)
from wedsync_success.integrations.webhooks.worker import WebhookWorker
from wedsync_success.kit.clock import Clock


class Webhooks:
    """The policy from settings, and this process's worker (built on first use)."""

    def __init__(self, *, settings: Settings, db: Database, clock: Clock) -> None:
        self.policy = DeliveryPolicy.from_settings(settings)
        self._settings = settings
        self._sealer: SecretSealer | None = None
        self._db = db
        self._clock = clock
        self._worker: WebhookWorker | None = None

    def subscribe(self, transport: Transport) -> None:
        """Turn success events into deliveries, in the dispatcher's transaction."""
        transport.subscribe_batch(CONSUMER, on_success_events, CONSUMED_TYPES)

    @property
    def sealer(self) -> SecretSealer:
        """Seals and opens endpoint secrets; built on first use, so a process that never
        touches webhooks does not need ``WEDSYNC_SECRET_KEY``."""
        if self._sealer is None:
            self._sealer = SecretSealer.from_settings(self._settings)
        return self._sealer

    def worker(self, *, name: str | None = None) -> WebhookWorker:
        if self._worker is None:
            self._worker = WebhookWorker(
                db=self._db, policy=self.policy, sealer=self.sealer, clock=self._clock, name=name
            )
        return self._worker

    def wake_worker(self) -> None:
        """Send what was just queued, if this process runs a worker."""
        if self._worker is not None:
            self._worker.notify()

    async def close(self) -> None:
        if self._worker is not None:
            await self._worker.aclose()
