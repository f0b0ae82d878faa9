"""Segments defined through the API, and every segment's current members."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wedsync_success.db import Base, JSONType, UTCDateTime


class StoredSegment(Base):
    """A segment an admin created through the API (the file's segments are not stored).

    ``rules`` is the validated rule as JSON (``segments.rules.Rule``), read back through the
    same schema before it is compiled.
    """

    __tablename__ = "segments"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    rules: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SegmentMembership(Base):
    """A supplier is in a segment since ``entered_at`` (the evaluation that found it there).

    Keyed by (segment, supplier): an evaluation inserts the suppliers newly matching and
    deletes those no longer matching, each change with its success event in the outbox.
    ``segment_key`` has no foreign key: the file's segments have no row in ``segments``.
    """

    __tablename__ = "segment_memberships"
    __table_args__ = (Index("ix_segment_memberships_supplier_id", "supplier_id"),)

    segment_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    supplier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("suppliers.id", ondelete="CASCADE"), primary_key=True
    )
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SegmentEvaluation(Base):
    """When a segment was last evaluated over every supplier (a full rescore, the nightly
    job, ``segments evaluate``, its creation or change through the API).

    Ingested batches re-evaluate only the suppliers they touched and are not recorded here:
    they would write this row in every ingest transaction. No foreign key, as for
    memberships: the file's segments have no row in ``segments``.
    """

    __tablename__ = "segment_evaluations"

    segment_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime)
