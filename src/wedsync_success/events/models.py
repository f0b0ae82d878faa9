"""The transactional outbox and per-consumer delivery receipts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wedsync_success.db import Base, JSONType, UTCDateTime, big_id


class OutboxEvent(Base):
    """A success event written in the same transaction as the change that caused it.

    ``published_at`` stays empty until every subscriber has acknowledged it, so an event
    committed just before a crash is delivered when the dispatcher next runs.
    """

    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_pending", "published_at", "id"),
        Index("ix_outbox_events_supplier_id", "supplier_id", "id"),
        Index("ix_outbox_events_type_time", "event_type", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(big_id, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    event_type: Mapped[str] = mapped_column(String(64))
    supplier_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ConsumerReceipt(Base):
    """A consumer acknowledged an event; it is never handed that event again."""

    __tablename__ = "consumer_receipts"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    acked_at: Mapped[datetime] = mapped_column(UTCDateTime)
