"""Webhook endpoints, one delivery per (endpoint, event), and every attempt to send one."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from wedsync_success.db import Base, JSONType, UTCDateTime, big_id


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    """Due at ``due_at`` (the first attempt, or a retry)."""
    SENDING = "sending"
    """Claimed by a worker until ``lease_until``."""
    DELIVERED = "delivered"
    FAILED = "failed"
    """Every retry in the window failed; a resend or a replay queues it again."""
    HELD = "held"
    """Kept while its endpoint is disabled; a replay queues it again."""


class WebhookEndpoint(Base):
    """A URL that hears success events of the types in ``event_types`` (``None``: all).

    ``secret`` signs every attempt; after a rotation ``previous_secret`` signs too until
    ``previous_secret_expires_at``. Both are stored sealed (``v1:…``, see :mod:`.sealing`),
    never in clear. ``failing_since`` is the first failed attempt since the
    last success: the sustained-failure rule reads it.
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(String(500), default="")
    event_types: Mapped[list[Any] | None] = mapped_column(JSONType, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    secret: Mapped[str] = mapped_column(String(200))
    previous_secret: Mapped[str | None] = mapped_column(String(200), nullable=True)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    """One event for one endpoint; ``msg_id`` (the ``webhook-id``) is the same at every
    attempt, so a receiver that de-duplicates on it sees each event once."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        Index("ix_webhook_deliveries_due", "state", "due_at"),
        Index("ix_webhook_deliveries_endpoint_time", "endpoint_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(big_id, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(String(64))
    msg_id: Mapped[str] = mapped_column(String(100))
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """Start of the retry window (reset by a resend or a replay)."""
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebhookAttempt(Base):
    """One request to an endpoint: when, how long, what it answered (truncated, printable)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        UniqueConstraint("delivery_id", "attempt_no", name="uq_webhook_attempts_delivery_no"),
    )

    id: Mapped[int] = mapped_column(big_id, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        big_id, ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempt_no: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_snippet: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    worker: Mapped[str] = mapped_column(String(200))
