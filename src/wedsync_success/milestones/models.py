"""Milestone achievements, recorded once per supplier and milestone."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from wedsync_success.db import Base, UTCDateTime


class MilestoneAchievement(Base):
    """A supplier reached a milestone at ``achieved_at`` (the time of the deciding event)."""

    __tablename__ = "milestone_achievements"
    __table_args__ = (
        Index("ix_milestone_achievements_key_time", "milestone_key", "achieved_at"),
        Index("ix_milestone_achievements_achieved_at", "achieved_at"),
    )

    supplier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("suppliers.id", ondelete="CASCADE"), primary_key=True
    )
    milestone_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    achieved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    days_to_achieve: Mapped[float] = mapped_column(Float)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
