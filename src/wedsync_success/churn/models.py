"""The prediction log: every stored churn prediction, the model version that made it, and
its outcome once the horizon has passed (or the supplier left)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from wedsync_success.churn.windows import STORED_WINDOWS
from wedsync_success.db import Base, JSONType, UTCDateTime


class ChurnPrediction(Base):
    """One supplier's churn probability as of a day, by one model version.

    Keyed by (supplier, day, model): scoring the same day again with the same model
    replaces the row, so the log holds one prediction per supplier, day and model.
    """

    __tablename__ = "churn_predictions"
    __table_args__ = (
        PrimaryKeyConstraint("supplier_id", "as_of", "model_version"),
        Index("ix_churn_predictions_outcome_horizon", "outcome", "horizon_end"),
    )

    supplier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    model_version: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[date] = mapped_column(Date)
    horizon_days: Mapped[int] = mapped_column(Integer)
    horizon_end: Mapped[datetime] = mapped_column(UTCDateTime)
    """End of the horizon the probability is about: the outcome is known by then."""
    probability: Mapped[float] = mapped_column(Float)
    risk_band: Mapped[str] = mapped_column(String(16))
    drivers: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType, nullable=True)
    """Top factors pushing risk up and down (only for the at-risk bands in batch scoring)."""
    predicted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    """Did the supplier churn within the horizon? Null until that is known."""
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


activity_windows = Table(
    "churn_activity_windows",
    Base.metadata,
    Column(
        "supplier_id",
        Uuid,
        ForeignKey("suppliers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    *(
        Column(w.column, Date, nullable=True)
        if w.kind == "last"
        else Column(w.column, Integer, nullable=False, server_default="0")
        for w in STORED_WINDOWS
    ),
    comment="The churn feature store: each supplier's window aggregates as of the store's day.",
)
"""One row per supplier with activity in the look-back window; its columns are
:data:`~wedsync_success.churn.features.STORED_WINDOWS` (a Core table: they are generated)."""


class FeatureStoreDay(Base):
    """The day the feature store is at (a single row): windows end on this day.

    Ingest adds late activity of days up to it; later days enter when the store is rolled
    forward. Locking this row orders the two (see ``churn.feature_store``).
    """

    __tablename__ = "churn_feature_store"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
