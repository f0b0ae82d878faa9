"""The marketing adapter's logic: success events into queued Segment-spec messages (in the
dispatcher's transaction), and what became of each send.

No HTTP here (the worker sends, :mod:`.sender`), no commits (callers run a unit of work).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.config import Settings
from wedsync_success.events.types import SuccessEvent, SuccessEventType
from wedsync_success.health import repository as health_repository
from wedsync_success.integrations.marketing import repository, segment
from wedsync_success.integrations.marketing.models import COLLECTOR, MessageState
from wedsync_success.integrations.marketing.schemas import (
    CampaignOut,
    MarketingStatus,
    MessageOut,
    MessagePage,
)
from wedsync_success.kit.errors import ConfigError
from wedsync_success.kit.retries import next_attempt
from wedsync_success.kit.ssrf import UrlRefused, check_configured_url
from wedsync_success.suppliers import repository as suppliers_repository
from wedsync_success.suppliers.models import Supplier

if TYPE_CHECKING:
    from wedsync_success.integrations.marketing.campaigns import Campaigns

CONSUMER = "marketing"
"""The bus consumer's name: it keys its receipts, so it never changes."""
DEFAULT_EVENT_TYPES = tuple(
    t.value for t in SuccessEventType if t is not SuccessEventType.CAMPAIGN_TRIGGERED
)
COLLECTOR_URL_FIELD = "WEDSYNC_MARKETING_URL"
RETRY_BASE = timedelta(seconds=5)
RETRY_CAP = timedelta(hours=1)
"""Collectors recover in minutes; waits double from 5 s up to an hour."""


@dataclass(frozen=True)
class MarketingPolicy:
    """Where and how messages are sent (from ``WEDSYNC_MARKETING_*`` settings)."""

    base_url: str | None
    write_key: str
    event_types: frozenset[str]
    timeout: timedelta
    retry_window: timedelta
    allow_private: bool
    """``WEDSYNC_OUTBOUND_ALLOW_PRIVATE``: the collector and campaign webhooks may be at
    private addresses (the SSRF rules of :mod:`kit.ssrf` off)."""

    @property
    def enabled(self) -> bool:
        """Off without a URL: the consumer then queues nothing."""
        return self.base_url is not None

    @property
    def batch_url(self) -> str:
        if self.base_url is None:
            raise ValueError("marketing is off: WEDSYNC_MARKETING_URL is not set")
        return self.base_url.rstrip("/") + "/v1/batch"

    @classmethod
    def from_settings(cls, settings: Settings) -> MarketingPolicy:
        """The policy; an event type no success event has is refused (a typo would
        silently send nothing), and so is a collector URL the SSRF rules refuse without
        DNS (a private or loopback address, in any spelling; names are checked at send)."""
        key = settings.marketing_write_key
        types = frozenset(settings.marketing_event_types or DEFAULT_EVENT_TYPES)
        unknown = sorted(types - {t.value for t in SuccessEventType})
        if unknown:
            reason = f"not success event types: {', '.join(map(repr, unknown))}"
            raise ConfigError(
                f"WEDSYNC_MARKETING_EVENT_TYPES: {reason}",
                details=[{"field": "WEDSYNC_MARKETING_EVENT_TYPES", "reason": reason}],
            )
        if settings.marketing_url is not None:
            try:
                check_configured_url(
                    settings.marketing_url,
                    allow_private=settings.outbound_allow_private,
                    field=COLLECTOR_URL_FIELD,
                )
            except UrlRefused as exc:
                raise ConfigError(exc.message, details=exc.details) from None
        return cls(
            base_url=settings.marketing_url,
            write_key=key.get_secret_value() if key else "",
            event_types=types,
            timeout=timedelta(seconds=settings.marketing_timeout_seconds),
            retry_window=timedelta(hours=settings.marketing_retry_window_hours),
            allow_private=settings.outbound_allow_private,
        )


def user_id(supplier_id: uuid.UUID, supplier: Supplier | None) -> str:
    """The customer's own id for the supplier where it has one, else the supplier's UUID."""
    if supplier is not None and supplier.external_id:
        return supplier.external_id
    return str(supplier_id)


def traits(supplier: Supplier, score: tuple[float, str] | None) -> dict[str, Any]:
    """What a marketing tool segments on; the score is whole points, so an identify call is
    sent when it moves a point, not at every recompute's rounding noise."""
    return {
        "name": supplier.business_name,
        "business_name": supplier.business_name,
        "vendor_type": supplier.vendor_type,
        "plan": supplier.plan_tier,
        "health_score": None if score is None else round(score[0]),
        "risk_level": None if score is None else score[1],
        "wedsync_supplier_id": str(supplier.id),
    }


def message_row(
    *,
    message: Mapping[str, Any],
    destination: str,
    kind: str,
    supplier_id: uuid.UUID | None,
    now: datetime,
) -> dict[str, Any]:
    """A ``marketing_messages`` row; one too large for any collector is failed at once."""
    size = len(segment.encode(message))
    too_large = size > segment.MAX_MESSAGE_BYTES
    return {
        "message_id": message["messageId"],
        "destination": destination,
        "kind": kind,
        "supplier_id": supplier_id,
        "body": dict(message),
        "size_bytes": size,
        "state": MessageState.FAILED if too_large else MessageState.PENDING,
        "attempts": 0,
        "first_due_at": now,
        "due_at": now,
        "last_error": (
            f"message is {size:,} bytes; collectors accept at most {segment.MAX_MESSAGE_BYTES:,}"
            if too_large
            else None
        ),
        "created_at": now,
    }


async def queue_events(
    *, session: AsyncSession, events: Sequence[SuccessEvent], policy: MarketingPolicy, now: datetime
) -> int:
    """Queue a ``track`` call per event of a supplier, preceded by an ``identify`` call for
    each supplier whose traits changed since the last one; returns how many were queued.
    Unique on ``messageId``, so an event delivered again adds nothing."""
    if not policy.enabled:
        return 0
    wanted = [
        (e.supplier_id, e)
        for e in events
        if e.supplier_id is not None and e.event_type in policy.event_types
    ]
    if not wanted:
        return 0
    ids = sorted({supplier_id for supplier_id, _ in wanted})
    suppliers = await suppliers_repository.by_ids(session, ids)
    scores = await health_repository.current_scores(session, ids)
    known = await repository.trait_hashes(session, ids)
    first_event: dict[uuid.UUID, SuccessEvent] = {}
    for supplier_id, event in wanted:
        first_event.setdefault(supplier_id, event)
    rows: list[dict[str, Any]] = []
    changed: dict[uuid.UUID, str] = {}
    for supplier_id, supplier in sorted(suppliers.items()):
        current = traits(supplier, scores.get(supplier_id))
        digest = segment.traits_hash(current)
        if known.get(supplier_id) == digest:
            continue
        changed[supplier_id] = digest
        event = first_event[supplier_id]
        message = segment.identify(
            message_id=segment.identify_message_id(event.event_id, digest),
            user_id=user_id(supplier_id, supplier),
            traits=current,
            timestamp=event.occurred_at,
        )
        rows.append(
            message_row(
                message=message,
                destination=COLLECTOR,
                kind="identify",
                supplier_id=supplier_id,
                now=now,
            )
        )
    for supplier_id, event in wanted:
        message = segment.track(
            message_id=segment.track_message_id(event.event_id),
            user_id=user_id(supplier_id, suppliers.get(supplier_id)),
            event=segment.event_name(event.event_type),
            properties={
                **event.payload,
                "wedsync_event_type": event.event_type,
                "wedsync_event_id": str(event.event_id),
            },
            timestamp=event.occurred_at,
        )
        rows.append(
            message_row(
                message=message,
                destination=COLLECTOR,
                kind="track",
                supplier_id=supplier_id,
                now=now,
            )
        )
    await repository.add_messages(session, rows)
    await repository.set_trait_hashes(session, changed, now=now)
    return len(rows)


@dataclass(frozen=True)
class SendResult:
    """What one request answered, for every message it carried."""

    message_ids: tuple[int, ...]
    status_code: int | None
    error: str | None
    retry_after: timedelta | None
    permanent: bool = False
    """Failed for good without asking (a campaign no longer configured)."""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def refused(self) -> bool:
        """The collector judged the message itself bad: sending it again cannot help. Any
        other failure (5xx, 429, 401/403 of a wrong write key, a timeout) is retried."""
        return self.permanent or self.status_code in (400, 413, 422)


async def record_results(
    *,
    session: AsyncSession,
    results: Sequence[SendResult],
    claimed: Mapping[int, repository.Claimed],
    worker: str,
    policy: MarketingPolicy,
    rng: random.Random,
    now: datetime,
) -> dict[str, int]:
    """Write what became of each sent message: sent; failed (refused, or the retry window
    is spent); or due again after a backoff (``Retry-After`` a floor on it). Messages
    another worker took over meanwhile are left alone. Returns counts by outcome."""
    mine = await repository.still_claimed(
        session, [i for r in results for i in r.message_ids], worker
    )
    rows: list[dict[str, Any]] = []
    counts = {"sent": 0, "failed": 0, "retried": 0}
    for result in results:
        for message_id in result.message_ids:
            if message_id not in mine:
                continue
            message = claimed[message_id]
            attempts = message.attempts + 1
            row = {
                "b_id": message_id,
                "attempts": attempts,
                "status": result.status_code,
                "error": result.error,
                "sent_at": None,
                "due_at": now,
            }
            if result.succeeded:
                row.update(state=MessageState.SENT, sent_at=now)
                counts["sent"] += 1
            else:
                due = (
                    None
                    if result.refused
                    else next_attempt(
                        attempts=attempts,
                        now=now,
                        first_due_at=message.first_due_at,
                        window=policy.retry_window,
                        rng=rng,
                        floor=result.retry_after,
                        base=RETRY_BASE,
                        cap=RETRY_CAP,
                    )
                )
                if due is None:
                    row["state"] = MessageState.FAILED
                    counts["failed"] += 1
                else:
                    row.update(state=MessageState.PENDING, due_at=due)
                    counts["retried"] += 1
            rows.append(row)
    await repository.record(session, rows)
    return counts


def status(
    *, counts: Mapping[str, int], policy: MarketingPolicy, campaigns: Campaigns
) -> MarketingStatus:
    """What ``marketing status`` and ``GET /marketing/status`` show."""
    active = {c.key for c in campaigns.active(policy)}
    return MarketingStatus(
        enabled=policy.enabled,
        batch_url=policy.batch_url if policy.enabled else None,
        messages={state.value: int(counts.get(state.value, 0)) for state in MessageState},
        campaigns=[
            CampaignOut(
                key=c.key,
                when=c.when,
                action="track" if c.action.track else "webhook",
                cooldown_days=c.cooldown_days,
                active=c.key in active,
            )
            for c in campaigns.file.campaigns
        ],
    )


async def read_status(
    *, session: AsyncSession, policy: MarketingPolicy, campaigns: Campaigns
) -> MarketingStatus:
    counts = await repository.state_counts(session)
    return status(counts=counts, policy=policy, campaigns=campaigns)


async def list_messages(
    *, session: AsyncSession, state: MessageState | None, before_id: int | None, limit: int
) -> MessagePage:
    rows = await repository.messages(session, state=state, before_id=before_id, limit=limit)
    items = [MessageOut.model_validate(r, from_attributes=True) for r in rows]
    return MessagePage(items=items, next_before_id=rows[-1].id if len(rows) == limit else None)


async def flush(*, session: AsyncSession, now: datetime) -> int:
    """Make every pending message due now (their backoff skipped); returns how many moved."""
    return await repository.make_due(session, now=now)
