"""Outbound webhooks' logic: endpoints, the bus consumer, replay and resend, outcomes.

No HTTP here (the worker sends, :mod:`.delivery`), no commits (callers run a unit of work).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.config import Settings
from wedsync_success.events.types import SuccessEvent, SuccessEventType
from wedsync_success.integrations.webhooks import repository
from wedsync_success.integrations.webhooks.models import (
    DeliveryState,
    WebhookDelivery,
    WebhookEndpoint,
)
from wedsync_success.integrations.webhooks.schemas import (
    EndpointIn,
    EndpointOut,
    EndpointPatch,
)
from wedsync_success.integrations.webhooks.sealing import SecretSealer
from wedsync_success.kit.errors import NotFound, ValidationFailed
from wedsync_success.kit.retries import next_attempt
from wedsync_success.kit.ssrf import check_target
from wedsync_success.kit.standard_webhooks import new_secret

CONSUMER = "webhooks"
"""The bus consumer's name: it keys its receipts, so it never changes."""
CONSUMED_TYPES = tuple(t.value for t in SuccessEventType)
REPLAY_CHUNK = 1000


@dataclass(frozen=True)
class DeliveryPolicy:
    """How deliveries are sent and retried (from ``WEDSYNC_WEBHOOKS_*`` settings)."""

    timeout: timedelta
    retry_window: timedelta
    disable_after: timedelta
    rotation_overlap: timedelta
    allow_private: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            timeout=timedelta(seconds=settings.webhooks_timeout_seconds),
            retry_window=timedelta(hours=settings.webhooks_retry_window_hours),
            disable_after=timedelta(hours=settings.webhooks_disable_after_hours),
            rotation_overlap=timedelta(hours=settings.webhooks_rotation_overlap_hours),
            allow_private=settings.outbound_allow_private,
        )


def msg_id(event_id: uuid.UUID) -> str:
    """The ``webhook-id`` of an event: stable across attempts, resends and replays."""
    return f"evt_{event_id.hex}"


def message_body(event: SuccessEvent) -> dict[str, Any]:
    """The JSON body, in the Standard Webhooks shape (``type``, ``timestamp``, ``data``)."""
    return {
        "type": event.event_type,
        "timestamp": event.occurred_at.isoformat(),
        "data": event.to_json(),
    }


async def check_endpoint_url(url: str, *, allow_private: bool) -> None:
    """The SSRF rules for an endpoint URL (resolves its host; run outside a transaction)."""
    await check_target(url, allow_private=allow_private, field="url")


def _hears(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return endpoint.event_types is None or event_type in endpoint.event_types


def endpoint_out(endpoint: WebhookEndpoint, counts: dict[str, int]) -> EndpointOut:
    return EndpointOut(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        event_types=endpoint.event_types,
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        disabled_at=endpoint.disabled_at,
        previous_secret_expires_at=endpoint.previous_secret_expires_at,
        failing_since=endpoint.failing_since,
        deliveries=counts,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


async def list_endpoints(*, session: AsyncSession) -> list[EndpointOut]:
    counts = await repository.state_counts(session)
    return [
        endpoint_out(e, {s: n for (eid, s), n in counts.items() if eid == e.id})
        for e in await repository.endpoints(session)
    ]


async def get_endpoint(*, session: AsyncSession, endpoint_id: uuid.UUID) -> EndpointOut:
    endpoint = await _endpoint(session, endpoint_id)
    counts = await repository.state_counts(session)
    return endpoint_out(endpoint, {s: n for (eid, s), n in counts.items() if eid == endpoint.id})


async def _endpoint(
    session: AsyncSession, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint:
    endpoint = await repository.endpoint(session, endpoint_id, for_update=for_update)
    if endpoint is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    return endpoint


async def create_endpoint(
    *, session: AsyncSession, data: EndpointIn, sealer: SecretSealer, now: datetime
) -> tuple[WebhookEndpoint, str]:
    """Store an endpoint (its URL already checked) with its new secret sealed; returns it
    and the secret in clear (shown once, never stored so)."""
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        url=data.url,
        description=data.description,
        event_types=data.event_types,
        enabled=data.enabled,
        disabled_reason=None if data.enabled else "created disabled",
        disabled_at=None if data.enabled else now,
        secret=sealer.seal(secret),
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


async def update_endpoint(
    *, session: AsyncSession, endpoint_id: uuid.UUID, patch: EndpointPatch, now: datetime
) -> WebhookEndpoint:
    """Change an endpoint (a new URL already checked). Disabling holds what is queued;
    enabling forgets the failure streak (held deliveries wait for a replay)."""
    endpoint = await _endpoint(session, endpoint_id, for_update=True)
    if patch.url is not None:
        endpoint.url = patch.url
    if patch.description is not None:
        endpoint.description = patch.description
    if patch.all_event_types:
        endpoint.event_types = None
    elif patch.event_types is not None:
        endpoint.event_types = patch.event_types
    if patch.enabled is False and endpoint.enabled:
        endpoint.enabled = False
        endpoint.disabled_reason = "disabled by an admin"
        endpoint.disabled_at = now
        await repository.hold_pending(session, endpoint_id=endpoint.id)
    elif patch.enabled is True and not endpoint.enabled:
        endpoint.enabled = True
        endpoint.disabled_reason = None
        endpoint.disabled_at = None
        endpoint.failing_since = None
    endpoint.updated_at = now
    await session.flush()
    return endpoint


async def rotate_secret(
    *,
    session: AsyncSession,
    endpoint_id: uuid.UUID,
    overlap: timedelta,
    sealer: SecretSealer,
    now: datetime,
) -> tuple[str, datetime]:
    """A new secret (sealed when stored); the current one keeps signing too for
    ``overlap``. Both stay sealed: the old one moves without being opened."""
    endpoint = await _endpoint(session, endpoint_id, for_update=True)
    secret = new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + overlap
    endpoint.secret = sealer.seal(secret)
    endpoint.updated_at = now
    await session.flush()
    return secret, now + overlap


async def replay(
    *, session: AsyncSession, endpoint_id: uuid.UUID, since: datetime | None, now: datetime
) -> int:
    """Queue again what was held (``since`` None), or every event of the endpoint's types
    since ``since``, delivered or not (those it never had a delivery for get one, from
    the outbox). Returns how many deliveries were queued."""
    endpoint = await _endpoint(session, endpoint_id, for_update=True)
    if not endpoint.enabled:
        raise ValidationFailed(
            "enable the endpoint before replaying to it",
            details=[{"field": "enabled", "reason": "the endpoint is disabled"}],
        )
    if since is None:
        return await repository.requeue(
            session, endpoint_id=endpoint.id, states=[DeliveryState.HELD], since=None, now=now
        )
    queued = await repository.requeue(
        session, endpoint_id=endpoint.id, states=repository.REPLAYABLE, since=since, now=now
    )
    after_id = 0
    while rows := await repository.outbox_since(
        session,
        since=since,
        event_types=endpoint.event_types,
        after_id=after_id,
        limit=REPLAY_CHUNK,
    ):
        after_id = rows[-1].id
        known = await repository.delivered_event_ids(
            session, endpoint_id=endpoint.id, event_ids=[r.event_id for r in rows]
        )
        new = [
            _delivery_row(endpoint, _event(r), DeliveryState.PENDING, now)
            for r in rows
            if r.event_id not in known
        ]
        await repository.add_deliveries(session, new)
        queued += len(new)
    return queued


async def resend(*, session: AsyncSession, delivery_id: int, now: datetime) -> WebhookDelivery:
    """Queue one delivery again now, with a fresh retry window (same ``webhook-id``)."""
    delivery = await repository.delivery(session, delivery_id, for_update=True)
    if delivery is None:
        raise NotFound(f"no webhook delivery {delivery_id}")
    endpoint = await _endpoint(session, delivery.endpoint_id)
    if not endpoint.enabled:
        raise ValidationFailed(
            "enable the endpoint before resending to it",
            details=[{"field": "enabled", "reason": "the endpoint is disabled"}],
        )
    if delivery.state in (DeliveryState.PENDING, DeliveryState.SENDING):
        delivery.due_at = min(delivery.due_at, now)
    else:
        delivery.state = DeliveryState.PENDING
        delivery.due_at = now
        delivery.first_due_at = now
        delivery.lease_until = None
        delivery.claimed_by = None
    await session.flush()
    return delivery


def _event(row: Any) -> SuccessEvent:
    return SuccessEvent(
        sequence=row.id,
        event_id=row.event_id,
        event_type=row.event_type,
        supplier_id=row.supplier_id,
        occurred_at=row.occurred_at,
        payload=row.payload,
    )


def _delivery_row(
    endpoint: WebhookEndpoint, event: SuccessEvent, state: DeliveryState, now: datetime
) -> dict[str, Any]:
    return {
        "endpoint_id": endpoint.id,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "msg_id": msg_id(event.event_id),
        "body": message_body(event),
        "occurred_at": event.occurred_at,
        "state": state,
        "attempts": 0,
        "first_due_at": now,
        "due_at": now,
        "created_at": now,
    }


async def on_success_events(
    session: AsyncSession, events: Sequence[SuccessEvent], now: datetime
) -> None:
    """The bus consumer: one delivery per (endpoint hearing the type, event), in the
    dispatcher's transaction; queued for an enabled endpoint, held for a disabled one.
    Unique on (endpoint, event), so an event delivered again adds nothing."""
    endpoints = await repository.endpoints(session)
    rows = [
        _delivery_row(
            endpoint,
            event,
            DeliveryState.PENDING if endpoint.enabled else DeliveryState.HELD,
            now,
        )
        for event in events
        for endpoint in endpoints
        if _hears(endpoint, event.event_type)
    ]
    await repository.add_deliveries(session, rows)


@dataclass(frozen=True)
class Outgoing:
    """One attempt about to be sent: where, signed with which secrets (still sealed: the
    sender opens them just before signing), what."""

    delivery_id: int
    endpoint_id: uuid.UUID
    attempt_no: int
    url: str
    sealed_secrets: tuple[str, ...]
    msg_id: str
    body: str


@dataclass(frozen=True)
class AttemptResult:
    started_at: datetime
    duration_ms: int
    status_code: int | None
    response_snippet: str | None
    error: str | None
    retry_after: timedelta | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def encode_body(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), allow_nan=False)


async def claim_outgoing(
    *, session: AsyncSession, worker: str, lease: timedelta, limit: int, now: datetime
) -> list[Outgoing]:
    """Claim up to ``limit`` due deliveries for ``worker`` and say what to send for each,
    in one transaction and a handful of statements. A delivery whose endpoint is disabled
    is held instead."""
    claimed = await repository.claim(session, now=now, lease=lease, worker=worker, limit=limit)
    rows = await repository.with_endpoints(session, claimed)
    await repository.hold(session, [d.id for d, e in rows if not e.enabled])
    return [_outgoing(d, e, now) for d, e in rows if e.enabled]


def _outgoing(delivery: WebhookDelivery, endpoint: WebhookEndpoint, now: datetime) -> Outgoing:
    live = [endpoint.secret]
    if (
        endpoint.previous_secret is not None
        and endpoint.previous_secret_expires_at is not None
        and endpoint.previous_secret_expires_at > now
    ):
        live.append(endpoint.previous_secret)
    return Outgoing(
        delivery_id=delivery.id,
        endpoint_id=endpoint.id,
        attempt_no=delivery.attempts + 1,
        url=endpoint.url,
        sealed_secrets=tuple(live),
        msg_id=delivery.msg_id,
        body=encode_body(delivery.body),
    )


async def record_attempts(
    *,
    session: AsyncSession,
    results: Sequence[tuple[Outgoing, AttemptResult]],
    worker: str,
    policy: DeliveryPolicy,
    rng: random.Random,
    now: datetime,
) -> dict[int, DeliveryState]:
    """Log a batch of attempts and decide what comes next for each delivery: delivered;
    held (410 Gone, or sustained failure disabled its endpoint); retried with backoff; or
    failed once the retry window is spent. Deliveries another worker had taken over are
    left alone (absent from the answer).

    Per endpoint: any success in the batch means it is not failing; with none, the first
    failure since the last success is noted, and the endpoint is disabled once that is
    ``policy.disable_after`` old. A 410 disables it whatever else happened.
    """
    found = await repository.claimed_by(session, [o.delivery_id for o, _ in results], worker)
    mine = [(o, r, found[o.delivery_id]) for o, r in results if o.delivery_id in found]
    await repository.add_attempts(
        session,
        [
            {
                "delivery_id": o.delivery_id,
                "attempt_no": o.attempt_no,
                "started_at": r.started_at,
                "duration_ms": r.duration_ms,
                "status_code": r.status_code,
                "response_snippet": r.response_snippet,
                "error": r.error,
                "worker": worker,
            }
            for o, r, _ in mine
        ],
    )
    disabled = await _endpoint_health(
        session, [(o.endpoint_id, r) for o, r, _ in mine], policy, now
    )
    states: dict[int, DeliveryState] = {}
    for outgoing, result, delivery in mine:
        delivery.attempts = outgoing.attempt_no
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error
        delivery.lease_until = None
        delivery.claimed_by = None
        if result.succeeded:
            delivery.state = DeliveryState.DELIVERED
            delivery.delivered_at = now
        elif outgoing.endpoint_id in disabled:
            delivery.state = DeliveryState.HELD
        else:
            due = next_attempt(
                attempts=delivery.attempts,
                now=now,
                first_due_at=delivery.first_due_at,
                window=policy.retry_window,
                rng=rng,
                floor=result.retry_after,
            )
            delivery.state = DeliveryState.FAILED if due is None else DeliveryState.PENDING
            delivery.due_at = due or delivery.due_at
        states[delivery.id] = DeliveryState(delivery.state)
    await session.flush()
    for endpoint_id in disabled:  # what else was queued for them waits for a replay
        await repository.hold_pending(session, endpoint_id=endpoint_id)
    return states


async def _endpoint_health(
    session: AsyncSession,
    outcomes: Sequence[tuple[uuid.UUID, AttemptResult]],
    policy: DeliveryPolicy,
    now: datetime,
) -> set[uuid.UUID]:
    """Note each endpoint's successes and failures; returns the endpoints disabled now."""
    by_endpoint: dict[uuid.UUID, list[AttemptResult]] = {}
    for endpoint_id, result in outcomes:
        by_endpoint.setdefault(endpoint_id, []).append(result)
    disabled: set[uuid.UUID] = set()
    for endpoint_id, results in sorted(by_endpoint.items()):
        if any(r.status_code == 410 for r in results):
            reason = "the endpoint answered 410 Gone"
        elif any(r.succeeded for r in results):
            await repository.mark_healthy(session, endpoint_id=endpoint_id)
            continue
        else:
            first = min(r.started_at for r in results)
            since = await repository.mark_failing(session, endpoint_id=endpoint_id, now=first)
            if since is None or now - since < policy.disable_after:
                continue
            reason = f"every attempt failed since {since.isoformat()}"
        await repository.disable(session, endpoint_id=endpoint_id, reason=reason, now=now)
        disabled.add(endpoint_id)
    return disabled
