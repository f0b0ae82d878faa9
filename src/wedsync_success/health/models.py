"""Current health score per supplier and its daily history.

Components are stored as columns (a score 0-100 and the raw signal behind it), so scoring
100K suppliers is one columnar write and explanations are derived on read from these columns.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from wedsync_success.db import Base, UTCDateTime


class ComponentScores:
    """The eight component scores, 0-100, shared by the current score and its history."""

    engagement: Mapped[float] = mapped_column(Float)
    adoption: Mapped[float] = mapped_column(Float)
    milestones: Mapped[float] = mapped_column(Float)
    clients: Mapped[float] = mapped_column(Float)
    billing: Mapped[float] = mapped_column(Float)
    support: Mapped[float] = mapped_column(Float)
    referrals: Mapped[float] = mapped_column(Float)
    network: Mapped[float] = mapped_column(Float, server_default="0")


class HealthScore(ComponentScores, Base):
    """The latest score of a supplier, with the raw signals that explain it and its trend."""

    __tablename__ = "health_scores"
    __table_args__ = (
        Index("ix_health_scores_score_supplier", "score", "supplier_id"),
        Index("ix_health_scores_risk_score", "risk_level", "score"),
    )

    supplier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("suppliers.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[date] = mapped_column(Date)
    score: Mapped[float] = mapped_column(Float)
    risk_level: Mapped[str] = mapped_column(String(16))
    engagement_signal: Mapped[float] = mapped_column(Float)
    adoption_signal: Mapped[float] = mapped_column(Float)
    milestones_signal: Mapped[float] = mapped_column(Float)
    clients_signal: Mapped[float] = mapped_column(Float)
    billing_signal: Mapped[float] = mapped_column(Float)
    support_signal: Mapped[float] = mapped_column(Float)
    referrals_signal: Mapped[float] = mapped_column(Float)
    network_signal: Mapped[float] = mapped_column(Float, server_default="0")
    last_active_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    change_7d: Mapped[float | None] = mapped_column(Float, nullable=True)
    change_30d: Mapped[float | None] = mapped_column(Float, nullable=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HealthScoreHistory(ComponentScores, Base):
    """One score per supplier per as-of day; recomputing a day replaces it."""

    __tablename__ = "health_score_history"

    supplier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("suppliers.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    risk_level: Mapped[str] = mapped_column(String(16))
