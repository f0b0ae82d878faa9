"""Raw activity events and the rollups maintained from them on ingest."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Uuid,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from wedsync_success.db import Base, JSONType, UTCDateTime
from wedsync_success.db.types import utc_day


class ActivityBatch(Base):
    """One write of events (an API batch, an import batch): when it was stored.

    Events carry their batch's small number instead of a UUID and a timestamp each, which
    took a quarter of an event's row (migration 0018)."""

    __tablename__ = "activity_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RawEventHorizon(Base):
    """How far back raw events were pruned (``events prune``): one row, or none before the
    first prune. An event dated before it is refused by ingest: it may have been stored,
    rolled up and pruned, and storing it again would count it twice."""

    __tablename__ = "raw_event_horizon"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    pruned_before: Mapped[datetime] = mapped_column(UTCDateTime)


class EventType(Base):
    """The dictionary of event type names: events store a type's small code, not its name
    (4 bytes instead of 10-20 on every event)."""

    __tablename__ = "event_types"

    code: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)


class ActivityEvent(Base):
    """One product event, exactly once per client ``event_id``.

    On PostgreSQL the table is partitioned by month of ``occurred_at`` (migration 0020):
    ``events prune`` drops whole months, and ``event_id`` is unique in each partition
    (its own index) and across them through the insert (see
    :func:`repository.insert_event_columns`). SQLite keeps one table keyed by ``event_id``.

    One secondary index only: (supplier, time), which every per-supplier read walks (the
    latest events, last seen, the Nth event of a type, plan changes: a supplier's events of
    one type are found by filtering its own). A (supplier, type, time) index cost 75-90
    bytes an event for reads that this one serves (migration 0018); a batch index, 8 bytes
    an event for the reads of what a batch has just stored, which now read the rows the
    write itself kept aside (:data:`new_events`, migration 0029)."""

    __tablename__ = "activity_events"
    __table_args__ = (
        Index("ix_activity_events_supplier_time", "supplier_id", "occurred_at"),
        {"postgresql_partition_by": "RANGE (occurred_at)"},
    )

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    """The client's idempotency key is the key (no surrogate row number beside it)."""
    supplier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    type_code: Mapped[int] = mapped_column(SmallInteger().with_variant(Integer(), "sqlite"))
    """The :class:`EventType` (no foreign key, for the same reason as ``batch_id``)."""
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    """NULL when the event has none (``{}`` cost a few bytes on every such event)."""
    batch_id: Mapped[int] = mapped_column(Integer)
    """The :class:`ActivityBatch` that stored the event (no foreign key: checking one per
    event would cost the bulk path a lookup per row; batches are never deleted)."""

    occurred_on: Mapped[date] = column_property(utc_day(occurred_at))
    """The UTC day of ``occurred_at``, computed (a stored copy cost 8 bytes an event)."""
    event_type: Mapped[str] = column_property(
        select(EventType.name)
        .where(EventType.code == type_code)
        .correlate_except(EventType)
        .scalar_subquery()
    )
    """The type's name, read through the dictionary (filter on :func:`repository.of_types`
    instead: one lookup of the codes, not one per row)."""


new_events = Table(
    "activity_events_new",
    MetaData(),  # a temporary table of each connection, not part of the schema
    Column("event_id", String(128)),
    Column("supplier_id", Uuid),
    Column("user_id", Uuid),
    Column("type_code", Integer),
    Column("occurred_at", UTCDateTime),
    Column("value", BigInteger),
    Column("properties", JSONType),
    Column("batch_id", Integer),
)
"""The events the last write of events on this connection newly stored, with their batch:
what the rollups, the feature store and the success events of that batch read (see
``repository.NEW_EVENTS``), instead of finding the batch's rows among all events."""


class DailyRollup(Base):
    """Count and value of one event type for one supplier on one UTC day."""

    __tablename__ = "daily_rollups"
    # No index on day alone: scoring aggregates every supplier's recent window, and walking
    # millions of rows through a day index (a lookup per row) is far slower than scanning the
    # primary key, which is already in (supplier, day) order for the GROUP BY.

    supplier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("suppliers.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    value_sum: Mapped[int] = mapped_column(BigInteger, default=0)


class SupplierEventTotal(Base):
    """Lifetime count, value and first/last time of one event type for one supplier."""

    __tablename__ = "supplier_event_totals"

    supplier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("suppliers.id", ondelete="CASCADE"), primary_key=True
    )
    event_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    value_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
