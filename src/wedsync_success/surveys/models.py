"""Survey tables: the surveys sent (one per ask of one supplier user) and the responses.

A response's ``response_id`` is unique: the client's own id for API and file responses, and
``survey:<survey id>`` for an answer through a survey's email link or in-app message, so a
retried batch, a second click and two devices answering at once each store one response.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wedsync_success.db import Base, UTCDateTime


class SurveySent(Base):
    """One survey asked of one supplier user, delivered as an intervention (email or in-app)."""

    __tablename__ = "surveys_sent"
    __table_args__ = (
        # "Not asked the same kind again within the interval": the latest ask per user and kind.
        Index("ix_surveys_sent_user_kind_created", "supplier_user_id", "kind", "created_at"),
        Index("ix_surveys_sent_supplier_created", "supplier_id", "created_at"),
        Index("uq_surveys_sent_intervention_id", "intervention_id", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(8))
    supplier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    supplier_user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    intervention_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    channel: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(32))
    """Why it was asked: ``periodic``, ``on_demand``, ``intervention`` or ``support_ticket``."""
    reference: Mapped[str | None] = mapped_column(String(128), nullable=True)
    """What it asks about: the intervention's id, the support ticket's id."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SurveyResponse(Base):
    """One score (and optional comment) a supplier user gave."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        Index("uq_survey_responses_response_id", "response_id", unique=True),
        Index("ix_survey_responses_kind_responded", "kind", "responded_at"),
        Index("ix_survey_responses_supplier_responded", "supplier_id", "responded_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    response_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(8))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    supplier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    supplier_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    survey_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("surveys_sent.id", ondelete="SET NULL"), nullable=True
    )
    source: Mapped[str] = mapped_column(String(16))  # "api" | "import" | "email" | "in_app"
    responded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SurveyAutoAsk(Base):
    """A CSAT the system decided to ask by itself (after a support ticket closed, after an
    intervention ended): one row per ``(supplier, trigger, reference)`` ever (its key), so
    a re-sent event, a re-import or a second delivery never asks twice."""

    __tablename__ = "survey_auto_asks"

    supplier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("suppliers.id", ondelete="CASCADE"), primary_key=True
    )
    trigger: Mapped[str] = mapped_column(String(32), primary_key=True)
    reference: Mapped[str] = mapped_column(String(128), primary_key=True)
    """The ticket's id, the playbook run's id."""
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """When the ticket closed or the run ended."""
    outcome: Mapped[str] = mapped_column(String(16))
    """What the ask came to: ``queued``, ``asked_recently`` or ``no_user``."""
    survey_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
