"""Every query of outbound webhooks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db.upsert import dialect_insert
from wedsync_success.events.models import OutboxEvent
from wedsync_success.integrations.webhooks.models import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

REPLAYABLE = (DeliveryState.HELD, DeliveryState.FAILED, DeliveryState.DELIVERED)


async def endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    rows = await session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.created_at))
    return list(rows)


async def endpoint(
    session: AsyncSession, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint | None:
    return await session.get(
        WebhookEndpoint, endpoint_id, with_for_update=for_update, populate_existing=True
    )


async def add_deliveries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert deliveries; one that exists for its (endpoint, event) stays as it is."""
    if not rows:
        return
    stmt = dialect_insert(session, WebhookDelivery).on_conflict_do_nothing(
        index_elements=["endpoint_id", "event_id"]
    )
    await session.execute(stmt, list(rows))


def _due(now: datetime) -> ColumnElement[bool]:
    """Pending deliveries whose time has come, and claimed ones whose worker's lease ran out."""
    return or_(
        (WebhookDelivery.state == DeliveryState.PENDING) & (WebhookDelivery.due_at <= now),
        (WebhookDelivery.state == DeliveryState.SENDING) & (WebhookDelivery.lease_until < now),
    )


async def any_due(session: AsyncSession, now: datetime) -> bool:
    found = await session.scalar(select(WebhookDelivery.id).where(_due(now)).limit(1))
    return found is not None


async def next_due(session: AsyncSession) -> datetime | None:
    due: datetime | None = await session.scalar(
        select(func.min(WebhookDelivery.due_at)).where(
            WebhookDelivery.state == DeliveryState.PENDING
        )
    )
    return due


async def claim(
    session: AsyncSession, *, now: datetime, lease: timedelta, worker: str, limit: int
) -> list[int]:
    """Claim up to ``limit`` due deliveries for ``worker`` (``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL; on SQLite the claim is the one write transaction)."""
    query = select(WebhookDelivery.id).where(_due(now)).order_by(WebhookDelivery.due_at)
    query = query.limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = list(await session.scalars(query))
    if claimed:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(claimed))
            .values(state=DeliveryState.SENDING, lease_until=now + lease, claimed_by=worker)
        )
    return claimed


async def delivery(
    session: AsyncSession, delivery_id: int, *, for_update: bool = False
) -> WebhookDelivery | None:
    return await session.get(
        WebhookDelivery, delivery_id, with_for_update=for_update, populate_existing=True
    )


async def attempts(session: AsyncSession, delivery_id: int) -> list[WebhookAttempt]:
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.attempt_no)
    )
    return list(rows)


async def deliveries(
    session: AsyncSession,
    *,
    endpoint_id: uuid.UUID,
    state: DeliveryState | None,
    before_id: int | None,
    limit: int,
) -> list[WebhookDelivery]:
    """An endpoint's deliveries, newest first, ``limit`` at a time (keyset on the id)."""
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if state is not None:
        query = query.where(WebhookDelivery.state == state)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    rows = await session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit))
    return list(rows)


async def state_counts(session: AsyncSession) -> dict[tuple[uuid.UUID, str], int]:
    rows = await session.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.state, func.count()).group_by(
            WebhookDelivery.endpoint_id, WebhookDelivery.state
        )
    )
    return {(endpoint_id, state): count for endpoint_id, state, count in rows}


async def hold_pending(session: AsyncSession, *, endpoint_id: uuid.UUID) -> int:
    """Hold an endpoint's queued deliveries (it was disabled); returns how many."""
    result = await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING]),
        )
        .values(state=DeliveryState.HELD, lease_until=None, claimed_by=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def requeue(
    session: AsyncSession,
    *,
    endpoint_id: uuid.UUID,
    states: Sequence[DeliveryState],
    since: datetime | None,
    now: datetime,
) -> int:
    """Queue an endpoint's deliveries in ``states`` (occurred at or after ``since``) again,
    due now with a fresh retry window; returns how many."""
    query = update(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.state.in_(list(states))
    )
    if since is not None:
        query = query.where(WebhookDelivery.occurred_at >= since)
    result = await session.execute(
        query.values(
            state=DeliveryState.PENDING,
            due_at=now,
            first_due_at=now,
            lease_until=None,
            claimed_by=None,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def outbox_since(
    session: AsyncSession,
    *,
    since: datetime,
    event_types: Sequence[str] | None,
    after_id: int,
    limit: int,
) -> list[OutboxEvent]:
    """Published outbox events that occurred at or after ``since``, in id order after
    ``after_id`` (events not yet published reach endpoints through the dispatcher)."""
    query = select(OutboxEvent).where(
        OutboxEvent.occurred_at >= since,
        OutboxEvent.published_at.is_not(None),
        OutboxEvent.id > after_id,
    )
    if event_types is not None:
        query = query.where(OutboxEvent.event_type.in_(list(event_types)))
    rows = await session.scalars(query.order_by(OutboxEvent.id).limit(limit))
    return list(rows)


async def mark_failing(
    session: AsyncSession, *, endpoint_id: uuid.UUID, now: datetime
) -> datetime | None:
    """Note a failed attempt: ``failing_since`` keeps the first failure since the last
    success. Returns it (None when the endpoint is gone)."""
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.failing_since.is_(None))
        .values(failing_since=now)
    )
    since: datetime | None = await session.scalar(
        select(WebhookEndpoint.failing_since).where(WebhookEndpoint.id == endpoint_id)
    )
    return since


async def mark_healthy(session: AsyncSession, *, endpoint_id: uuid.UUID) -> None:
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.failing_since.is_not(None))
        .values(failing_since=None)
    )


async def disable(
    session: AsyncSession, *, endpoint_id: uuid.UUID, reason: str, now: datetime
) -> None:
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.enabled.is_(True))
        .values(enabled=False, disabled_reason=reason[:300], disabled_at=now, updated_at=now)
    )


async def delivered_event_ids(
    session: AsyncSession, *, endpoint_id: uuid.UUID, event_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``event_ids`` already have a delivery to the endpoint."""
    if not event_ids:
        return set()
    rows = await session.scalars(
        select(WebhookDelivery.event_id).where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.event_id.in_(list(event_ids)),
        )
    )
    return set(rows)


async def with_endpoints(
    session: AsyncSession, delivery_ids: Sequence[int]
) -> list[tuple[WebhookDelivery, WebhookEndpoint]]:
    """The deliveries and their endpoints, in one query."""
    if not delivery_ids:
        return []
    rows = await session.execute(
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id.in_(list(delivery_ids)))
        .order_by(WebhookDelivery.due_at, WebhookDelivery.id)
    )
    return [(delivery, endpoint) for delivery, endpoint in rows]


async def hold(session: AsyncSession, delivery_ids: Sequence[int]) -> None:
    if delivery_ids:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(list(delivery_ids)))
            .values(state=DeliveryState.HELD, lease_until=None, claimed_by=None)
        )


async def claimed_by(
    session: AsyncSession, delivery_ids: Sequence[int], worker: str
) -> dict[int, WebhookDelivery]:
    """Those of ``delivery_ids`` still being sent by ``worker`` (locked on PostgreSQL)."""
    if not delivery_ids:
        return {}
    rows = await session.scalars(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.id.in_(list(delivery_ids)),
            WebhookDelivery.state == DeliveryState.SENDING,
            WebhookDelivery.claimed_by == worker,
        )
        .order_by(WebhookDelivery.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {d.id: d for d in rows}


async def add_attempts(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(WebhookAttempt), list(rows))


async def sealed_secrets(
    session: AsyncSession,
) -> list[tuple[uuid.UUID, str, str | None]]:
    """Every endpoint's two sealed secrets, by id, locked until the transaction ends (a
    rotation meanwhile waits rather than being overwritten)."""
    rows = await session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.secret, WebhookEndpoint.previous_secret)
        .order_by(WebhookEndpoint.id)
        .with_for_update()
    )
    return [(r.id, r.secret, r.previous_secret) for r in rows]


async def set_sealed_secrets(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Store new sealed forms (``id``, ``secret``, ``previous_secret``), by primary key."""
    if rows:
        await session.execute(update(WebhookEndpoint), list(rows))
