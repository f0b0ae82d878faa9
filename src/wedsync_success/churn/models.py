"""The prediction log: every stored churn prediction, the model version that made it, and
its outcome once the horizon has passed (or the supplier left)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
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

    ``supplier_id`` has no foreign key, unlike the other per-supplier tables: the log grows
    by a row per supplier a day, and on PostgreSQL a foreign key checks each inserted row
    by locking its supplier's row (``FOR KEY SHARE``, a write), which was more than half of
    the time of logging a day's 100,000 predictions (2.6 s against 1.1 s without). Every
    writer takes the ids from ``suppliers`` in the same transaction (batch scoring's
    feature query, the single-supplier route's lookup), and deleting or erasing a supplier
    must delete its predictions explicitly: nothing cascades here.
    """

    __tablename__ = "churn_predictions"
    __table_args__ = (
        PrimaryKeyConstraint("supplier_id", "as_of", "model_version"),
        Index("ix_churn_predictions_outcome_horizon", "outcome", "horizon_end"),
        # The model-accuracy report reads a window of days (migration 0019).
        Index("ix_churn_predictions_as_of", "as_of"),
    )

    supplier_id: Mapped[uuid.UUID] = mapped_column(Uuid)
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


class SupplierChurnCurrent(Base):
    """Each supplier's latest logged churn prediction: one row per supplier, for lists.

    "Latest per supplier" over the log is a window over millions of rows; this table is what
    the suppliers list sorts and filters by (churn probability, band, expected MRR lost).
    Every writer of the log writes it in the same transaction (batch scoring, ``POST
    /suppliers/{id}/churn``), a prediction for an earlier day never replacing a later one;
    nothing else does (interventions never write scoring tables). ``expected_mrr_loss_minor``
    is repriced when the supplier's MRR or currency changes.
    """

    __tablename__ = "supplier_churn_current"
    # One index per sort, (sort column, supplier_id) for keyset pages, carrying the columns
    # the churn filters test so that rows a filter rejects are rejected from the index. Two
    # indexes, not one per filter: every one of them is rewritten for every supplier by each
    # day's scoring.
    __table_args__ = (
        Index("ix_supplier_churn_current_probability", "probability", "supplier_id", "risk_band"),
        Index(
            "ix_supplier_churn_current_priority",
            "expected_mrr_loss_minor",
            "supplier_id",
            "probability",
            "risk_band",
        ),
    )

    supplier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("suppliers.id", ondelete="CASCADE"), primary_key=True
    )
    model_version: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[date] = mapped_column(Date)
    """The day the features were as of."""
    horizon_days: Mapped[int] = mapped_column(Integer)
    probability: Mapped[float] = mapped_column(Float)
    risk_band: Mapped[str] = mapped_column(String(16))
    predicted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expected_mrr_loss_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """probability x MRR in the reporting currency's minor units; NULL when the supplier's
    currency has no configured rate (not converted, never 0)."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


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
