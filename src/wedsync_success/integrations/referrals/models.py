"""Referral edges (kept as events arrive) and the per-supplier metrics computed over them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wedsync_success.db import Base, UTCDateTime

REFEREE_KEY_LENGTH = 254
"""The longest ``referred`` key an edge keeps: an email address's length limit."""


class ReferralEdge(Base):
    """One referrer's referral of one invited business, keyed by what the events call it.

    ``referee_key`` is the event's ``referred`` property (an email or the product's own
    reference), or the referee's supplier id when a conversion names only that.
    ``referee_supplier_id`` is the supplier that signed up (no foreign key: a conversion may
    name a supplier not imported yet); the network's supplier-to-supplier edges are the
    converted edges that carry one.
    """

    __tablename__ = "referral_edges"
    __table_args__ = (Index("ix_referral_edges_referee_supplier", "referee_supplier_id"),)

    referrer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("suppliers.id", ondelete="CASCADE"), primary_key=True
    )
    referee_key: Mapped[str] = mapped_column(String(REFEREE_KEY_LENGTH), primary_key=True)
    referee_supplier_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ReferralMetric(Base):
    """A supplier's place in the referral network, as computed at ``computed_at``.

    Only suppliers in the network (a referrer or a converted referee) have a row; the others
    read as zeros. Recomputed whole by ``referrals compute`` (and after imports), which
    writes only the rows whose figures changed: ``computed_at`` is when the stored figures
    were computed, still current after a recompute that found them the same.
    """

    __tablename__ = "referral_metrics"
    __table_args__ = (Index("ix_referral_metrics_pagerank", "pagerank", "supplier_id"),)

    supplier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("suppliers.id", ondelete="CASCADE"), primary_key=True
    )
    sent: Mapped[int] = mapped_column(Integer)
    converted: Mapped[int] = mapped_column(Integer)
    reach: Mapped[int] = mapped_column(Integer)
    in_degree: Mapped[int] = mapped_column(Integer)
    out_degree: Mapped[int] = mapped_column(Integer)
    pagerank: Mapped[float] = mapped_column(Float)
    core: Mapped[int] = mapped_column(Integer)
    super_connector: Mapped[bool] = mapped_column(Boolean)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
