"""The marketing worker: claims due messages, packs them into batches, sends, records.

Messages are durable rows claimed like webhook deliveries: ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, the single write transaction on SQLite, and a lease that outlasts the sending
of a claim. A worker checks it still holds its claim before it records; one that dies
mid-send leaves its messages to be claimed again once the lease runs out and sent again
under the same ``messageId`` (collectors de-duplicate on it).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db import Database
from wedsync_success.db.unit_of_work import UnitOfWork
from wedsync_success.integrations.marketing import repository, segment, service
from wedsync_success.integrations.marketing.campaigns import WebhookTarget
from wedsync_success.integrations.marketing.models import CAMPAIGN_PREFIX, COLLECTOR
from wedsync_success.integrations.marketing.sender import send_batch, send_webhook
from wedsync_success.integrations.marketing.service import MarketingPolicy, SendResult
from wedsync_success.interventions.worker import worker_name
from wedsync_success.kit.clock import Clock
from wedsync_success.kit.due_loop import DueLoop
from wedsync_success.kit.outbound_http import outbound_client

log = structlog.get_logger(__name__)

USER_AGENT = "WedSync-Success-Marketing/1"

MESSAGES = Counter(
    "wedsync_marketing_messages_total",
    "Marketing messages sent to their collector or webhook, by what became of them.",
    ["outcome"],
)


@dataclass(frozen=True)
class MarketingStats:
    claimed: int
    sent: int
    failed: int


class MarketingWorker(DueLoop):
    """Sends due messages: collector batches within the spec's limits, a few at a time."""

    error_event = "marketing_worker_error"

    def __init__(
        self,
        *,
        db: Database,
        policy: MarketingPolicy,
        targets: Mapping[str, WebhookTarget],
        clock: Clock,
        name: str | None = None,
        rng: random.Random | None = None,
        claim_limit: int = 5000,
        concurrency: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._db = db
        self.policy = policy
        self._targets = targets
        super().__init__(clock=clock)
        self.name = f"marketing:{name or worker_name()}"
        self._rng = rng or random.Random()
        self._claim_limit = claim_limit
        self._slots = asyncio.Semaphore(concurrency)
        self.lease = policy.timeout * 20 + timedelta(seconds=30)
        """A claim (some ten batches and webhooks, ``concurrency`` at a time) outlasts its
        sending even when every request times out; should a split of refused batches
        take longer, another worker sends the rest again under the same ``messageId``."""
        self._client = outbound_client(
            timeout=policy.timeout.total_seconds(),
            max_connections=concurrency,
            user_agent=USER_AGENT,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def work_once(self) -> MarketingStats:
        """Claim one lot of due messages and send them."""
        now = self._clock()
        async with self._db.sessions() as reading:
            if not await repository.any_due(reading, now):
                return MarketingStats(0, 0, 0)

        async def claim(session: AsyncSession) -> list[repository.Claimed]:
            return await repository.claim(
                session, now=now, lease=self.lease, worker=self.name, limit=self._claim_limit
            )

        claimed = await UnitOfWork(self._db).run(claim)
        if not claimed:
            return MarketingStats(0, 0, 0)
        results = [r for rs in await asyncio.gather(*self._sends(claimed, now)) for r in rs]
        by_id = {c.id: c for c in claimed}
        counts = await UnitOfWork(self._db).run(
            lambda session: service.record_results(
                session=session,
                results=results,
                claimed=by_id,
                worker=self.name,
                policy=self.policy,
                rng=self._rng,
                now=self._clock(),
            )
        )
        for outcome, count in counts.items():
            MESSAGES.labels(outcome=outcome).inc(count)
        return MarketingStats(len(claimed), counts["sent"], counts["failed"])

    def _sends(
        self, claimed: list[repository.Claimed], now: datetime
    ) -> list[Awaitable[list[SendResult]]]:
        collector = [c for c in claimed if c.destination == COLLECTOR]
        if collector and not self.policy.enabled:
            off = SendResult(
                tuple(c.id for c in collector), None, "WEDSYNC_MARKETING_URL is not set", None
            )
            collector = []
            sends: list[Awaitable[list[SendResult]]] = [_ready([off])]
        else:
            sends = []
        texts = [segment.encode(c.body) for c in collector]
        sends += [
            self._limited(
                send_batch(
                    self._client, self.policy, [(collector[i].id, texts[i]) for i in group], now=now
                )
            )
            for group in segment.pack([len(t) for t in texts])
        ]
        for message in claimed:
            if message.destination.startswith(CAMPAIGN_PREFIX):
                sends.append(self._limited(self._webhook(message, now)))
        return sends

    async def _webhook(self, message: repository.Claimed, now: datetime) -> list[SendResult]:
        key = message.destination.removeprefix(CAMPAIGN_PREFIX)
        target = self._targets.get(key)
        if target is None:
            error = f"campaign {key!r} has no webhook in the campaigns file any more"
            return [SendResult((message.id,), None, error, None, permanent=True)]
        return [
            await send_webhook(
                self._client,
                row_id=message.id,
                target=target,
                message_id=message.message_id,
                body=message.body,
                allow_private=self.policy.allow_private,
                now=now,
            )
        ]

    async def _limited(self, send: Awaitable[list[SendResult]]) -> list[SendResult]:
        async with self._slots:
            return await send

    async def drain(self, *, max_rounds: int = 1000) -> int:
        """Send until nothing is due now; returns how many were sent."""
        total = 0
        for _ in range(max_rounds):
            stats = await self.work_once()
            total += stats.sent
            if stats.claimed == 0:
                break
        return total

    async def round(self) -> bool:
        return (await self.work_once()).claimed >= self._claim_limit

    async def next_due(self) -> datetime | None:
        async with self._db.sessions() as session:
            return await repository.next_due(session)


async def _ready(results: list[SendResult]) -> list[SendResult]:
    return results
