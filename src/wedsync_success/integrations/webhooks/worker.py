"""The delivery worker: claims due deliveries, sends them, records each attempt.

Deliveries are durable rows, claimed like intervention step jobs: ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, the single write transaction on SQLite, and a lease that outlasts
the slowest attempt. A worker checks it still holds the claim before it sends and before
it records, so two workers never send the same attempt; a worker that dies mid-send leaves
the delivery to be claimed again once its lease runs out, and sent again under the same
``webhook-id`` (receivers de-duplicate on it).
"""

from __future__ import annotations

import asyncio
import collections
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import structlog
from prometheus_client import Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db import Database
from wedsync_success.db.unit_of_work import UnitOfWork
from wedsync_success.integrations.webhooks import repository, service
from wedsync_success.integrations.webhooks.delivery import send_attempt
from wedsync_success.integrations.webhooks.sealing import SecretKeyMismatch, SecretSealer
from wedsync_success.integrations.webhooks.service import DeliveryPolicy
from wedsync_success.interventions.worker import worker_name
from wedsync_success.kit.clock import Clock
from wedsync_success.kit.due_loop import DueLoop
from wedsync_success.kit.outbound_http import outbound_client

log = structlog.get_logger(__name__)

USER_AGENT = "WedSync-Success-Webhooks/1"

ATTEMPTS = Counter(
    "wedsync_webhook_attempts_total",
    "Webhook delivery attempts, by what became of the delivery.",
    ["outcome"],
)
KEY_MISMATCHES = Counter(
    "wedsync_webhook_secret_key_mismatches_total",
    "Deliveries not sent because this process's WEDSYNC_SECRET_KEY cannot open the "
    "endpoint's signing secret.",
)
ATTEMPT_SECONDS = Histogram(
    "wedsync_webhook_attempt_seconds", "Time one webhook delivery attempt took."
)


@dataclass(frozen=True)
class WebhookStats:
    claimed: int
    delivered: int


class WebhookWorker(DueLoop):
    """Sends due deliveries in batches, a few at a time."""

    error_event = "webhook_worker_error"

    def __init__(
        self,
        *,
        db: Database,
        policy: DeliveryPolicy,
        sealer: SecretSealer,
        clock: Clock,
        name: str | None = None,
        rng: random.Random | None = None,
        batch_size: int = 100,
        concurrency: int = 16,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._db = db
        self.policy = policy
        self._sealer = sealer
        super().__init__(clock=clock)
        self.name = f"webhooks:{name or worker_name()}"
        self._rng = rng or random.Random()
        self._batch_size = batch_size
        self._slots = asyncio.Semaphore(concurrency)
        self.lease = policy.timeout * (math.ceil(batch_size / concurrency) + 1) + timedelta(
            seconds=30
        )
        """A claimed batch outlasts its slowest possible sending (every attempt timing out,
        ``concurrency`` at a time), so no other worker takes a delivery over meanwhile."""
        self._client = outbound_client(
            timeout=policy.timeout.total_seconds(),
            max_connections=concurrency,
            user_agent=USER_AGENT,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def work_once(self) -> WebhookStats:
        """Claim one batch of due deliveries and send them."""
        now = self._clock()
        async with self._db.sessions() as reading:
            if not await repository.any_due(reading, now):
                return WebhookStats(0, 0)

        async def claim(session: AsyncSession) -> list[service.Outgoing]:
            return await service.claim_outgoing(
                session=session,
                worker=self.name,
                lease=self.lease,
                limit=self._batch_size,
                now=now,
            )

        claimed = await UnitOfWork(self._db).run(claim)
        if not claimed:
            return WebhookStats(0, 0)
        sent = await asyncio.gather(*(self._send(outgoing) for outgoing in claimed))
        results = [(o, r) for o, r in zip(claimed, sent, strict=True) if r is not None]
        states = await UnitOfWork(self._db).run(
            lambda session: service.record_attempts(
                session=session,
                results=results,
                worker=self.name,
                policy=self.policy,
                rng=self._rng,
                now=self._clock(),
            )
        )
        outcomes = collections.Counter(
            str(states.get(o.delivery_id, "superseded")) for o, _ in results
        )
        for outcome, count in outcomes.items():
            ATTEMPTS.labels(outcome=outcome).inc(count)
        return WebhookStats(len(claimed), outcomes["delivered"])

    async def drain(self, *, max_rounds: int = 1000) -> int:
        """Send until nothing is due now; returns how many were delivered."""
        total = 0
        for _ in range(max_rounds):
            stats = await self.work_once()
            total += stats.delivered
            if stats.claimed == 0:
                break
        return total

    async def _send(self, outgoing: service.Outgoing) -> service.AttemptResult | None:
        """One attempt, ``concurrency`` at a time; None if it broke (the claim stays, its
        lease runs out and the delivery is sent again)."""
        async with self._slots:
            try:
                result = await send_attempt(
                    self._client,
                    outgoing,
                    allow_private=self.policy.allow_private,
                    sealer=self._sealer,
                    clock=self._clock,
                )
            except SecretKeyMismatch as exc:  # ours, not the receiver's: no attempt counted
                log.error(
                    "webhook_secret_key_mismatch",
                    delivery_id=outgoing.delivery_id,
                    endpoint_id=str(outgoing.endpoint_id),
                    reason=exc.message,
                )
                KEY_MISMATCHES.inc()
                return None
            except Exception:
                log.exception("webhook_delivery_failed", delivery_id=outgoing.delivery_id)
                return None
        ATTEMPT_SECONDS.observe(result.duration_ms / 1000)
        return result

    async def round(self) -> bool:
        return (await self.work_once()).claimed >= self._batch_size

    async def next_due(self) -> datetime | None:
        async with self._db.sessions() as session:
            return await repository.next_due(session)
