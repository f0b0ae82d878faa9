"""Marketing messages waiting for (or done with) their collector, the traits last identified
per supplier, and the last firing of each campaign per supplier."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wedsync_success.db import Base, JSONType, UTCDateTime, big_id


class MessageState(enum.StrEnum):
    PENDING = "pending"
    """Due at ``due_at`` (the first attempt, or a retry)."""
    SENDING = "sending"
    """Claimed by a worker until ``lease_until``."""
    SENT = "sent"
    FAILED = "failed"
    """Refused (HTTP 400, or too large), or still failing when the retry window ended."""


COLLECTOR = "collector"
"""The destination of Segment-spec calls: ``{WEDSYNC_MARKETING_URL}/v1/batch``."""
CAMPAIGN_PREFIX = "campaign:"
"""A webhook campaign's destination is ``campaign:{key}``: its URL comes from the config."""


class MarketingMessage(Base):
    """One ``track``/``identify`` call, or one campaign webhook, sent at least once under
    the same ``message_id`` (collectors de-duplicate on ``messageId``)."""

    __tablename__ = "marketing_messages"
    __table_args__ = (
        UniqueConstraint("message_id", name="uq_marketing_messages_message_id"),
        Index("ix_marketing_messages_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(big_id, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(100))
    destination: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))
    """``track``, ``identify`` or ``webhook``."""
    supplier_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    """Personal data lives in ``body`` (the business name): erase by this column."""
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    size_bytes: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MarketingIdentity(Base):
    """The traits last sent in an ``identify`` call for a supplier (as a hash), so one is
    sent only when they change."""

    __tablename__ = "marketing_identities"

    supplier_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    traits_hash: Mapped[str] = mapped_column(String(64))
    identified_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CampaignFiring(Base):
    """When a campaign last fired for a supplier. The primary key makes the cooldown check
    and the firing one atomic upsert, so concurrent consumers cannot both fire."""

    __tablename__ = "campaign_firings"

    campaign_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    supplier_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    firings: Mapped[int] = mapped_column(Integer)
    trigger_event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
