"""The marketing integration wired into one process: its two bus consumers and its worker."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.config import Settings
from wedsync_success.db import Database
from wedsync_success.events.bus import Transport
from wedsync_success.events.types import SuccessEvent
from wedsync_success.integrations.marketing import campaigns, service
from wedsync_success.integrations.marketing.campaigns import Campaigns, load_campaigns
from wedsync_success.integrations.marketing.service import MarketingPolicy
from wedsync_success.integrations.marketing.worker import MarketingWorker
from wedsync_success.kit.clock import Clock


class Marketing:
    """The policy and campaigns from settings, and this process's worker (built on first use)."""

    def __init__(self, *, settings: Settings, db: Database, clock: Clock) -> None:
        self.policy = MarketingPolicy.from_settings(settings)
        self.campaigns: Campaigns = load_campaigns(
            settings.campaigns_config, allow_private=settings.outbound_allow_private
        )
        self._db = db
        self._clock = clock
        self._worker: MarketingWorker | None = None

    def subscribe(self, transport: Transport) -> None:
        """Queue messages for success events and fire campaigns, in the dispatcher's
        transaction. Neither consumer exists while it has nothing to do (no collector URL,
        no active campaign), so nothing is written for it."""
        if self.policy.enabled:
            transport.subscribe_batch(
                service.CONSUMER, self._queue_events, sorted(self.policy.event_types)
            )
        if self.campaigns.active(self.policy):
            transport.subscribe_batch(
                campaigns.CONSUMER, self._fire_campaigns, campaigns.CONSUMED_TYPES
            )

    async def _queue_events(
        self, session: AsyncSession, events: Sequence[SuccessEvent], now: datetime
    ) -> None:
        await service.queue_events(session=session, events=events, policy=self.policy, now=now)

    async def _fire_campaigns(
        self, session: AsyncSession, events: Sequence[SuccessEvent], now: datetime
    ) -> None:
        await campaigns.fire_campaigns(
            session=session, events=events, campaigns=self.campaigns, policy=self.policy, now=now
        )

    def worker(self, *, name: str | None = None) -> MarketingWorker:
        if self._worker is None:
            self._worker = MarketingWorker(
                db=self._db,
                policy=self.policy,
                targets=self.campaigns.targets,
                clock=self._clock,
                name=name,
            )
        return self._worker

    def wake_worker(self) -> None:
        """Send what was just queued, if this process runs a worker."""
        if self._worker is not None:
            self._worker.notify()

    async def close(self) -> None:
        if self._worker is not None:
            await self._worker.aclose()
