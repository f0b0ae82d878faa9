"""Intervention tables: playbook runs, their durable step jobs, every send decision, in-app
messages, contact preferences and the success team's tasks.

Uniqueness rules that make "exactly once" structural live here as indexes, so they hold
whatever code path writes: one active run per (supplier, playbook) and per (supplier, goal
group); one intervention per idempotency key (a run's step, or a one-off send); one job per
(run, step); one open task per (supplier, reason).
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from wedsync_success.db import Base, JSONType, UTCDateTime, big_id


class Arm(enum.StrEnum):
    """Drawn once at enrolment and stored: control runs are tracked but never sent anything."""

    TREATMENT = "treatment"
    CONTROL = "control"


class RunStatus(enum.StrEnum):
    ACTIVE = "active"
    GOAL_REACHED = "goal_reached"
    COMPLETED = "completed"  # every step done without reaching the goal
    EXITED = "exited"  # ended early for another reason (supplier churned, superseded)


class JobState(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"  # claimed by a worker until ``lease_until``
    DONE = "done"


class DeliveryStatus(enum.StrEnum):
    """Every decision about one message is recorded, never silently dropped."""

    QUEUED = "queued"  # a one-off message waiting for the worker
    SENDING = "sending"  # intent recorded, the adapter is (or was, before a crash) sending
    RETRYING = "retrying"  # a temporary failure; the job tries again later
    SENT = "sent"  # the provider accepted it (in-app: visible to the user; task: opened)
    FAILED = "failed"  # a permanent failure, or temporary ones past the retry budget
    CAPPED = "capped"  # the cross-playbook frequency cap held it back
    HELD = "held"  # quiet hours in the supplier's time zone; goes out when they end
    SKIPPED = "skipped"  # the step's condition said no (message read, supplier recovered)
    UNSUBSCRIBED = "unsubscribed"  # the user opted out of this channel and category
    SUPPRESSED = "suppressed"  # the run is in the control arm
    UNDELIVERABLE = "undeliverable"  # no email address / phone / owner to send to


class PlaybookRun(Base):
    """One supplier's enrolment in one playbook."""

    __tablename__ = "playbook_runs"
    __table_args__ = (
        Index(
            "uq_playbook_runs_active_playbook",
            "supplier_id",
            "playbook_key",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index(
            "uq_playbook_runs_active_goal",
            "supplier_id",
            "goal_group",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_playbook_runs_playbook_enrolled", "playbook_key", "enrolled_at"),
        Index("ix_playbook_runs_supplier", "supplier_id", "enrolled_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    playbook_key: Mapped[str] = mapped_column(String(64))
    goal_group: Mapped[str] = mapped_column(String(64))
    supplier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    arm: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    trigger_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    trigger: Mapped[dict[str, Any]] = mapped_column(JSONType)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    mrr_minor_at_enrolment: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="GBP")


class StepJob(Base):
    """A durable scheduled piece of work, claimed by one worker at a time, surviving restarts:
    a run's step (``run_id``, ``step_no``) or a one-off message (``intervention_id``)."""

    __tablename__ = "intervention_jobs"
    __table_args__ = (
        Index("uq_intervention_jobs_run_step", "run_id", "step_no", unique=True),
        Index("uq_intervention_jobs_intervention_id", "intervention_id", unique=True),
        Index("ix_intervention_jobs_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(big_id, primary_key=True, autoincrement=True)
    run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("playbook_runs.id", ondelete="CASCADE"), nullable=True
    )
    intervention_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    supplier_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    step_no: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Intervention(Base):
    """One message (or task) decision: the step of a run, or a success manager's one-off send.

    ``idempotency_key`` is written before the adapter is called; a second attempt at the same
    step finds the row and reconciles instead of sending twice.
    """

    __tablename__ = "interventions"
    __table_args__ = (
        Index("uq_interventions_idempotency_key", "idempotency_key", unique=True),
        Index("ix_interventions_supplier_created", "supplier_id", "created_at"),
        Index("ix_interventions_run", "run_id", "step_no"),
        Index("ix_interventions_cap", "supplier_id", "category", "status", "sent_at"),
        Index("ix_interventions_provider_id", "provider_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    idempotency_key: Mapped[str] = mapped_column(String(120))
    run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("playbook_runs.id", ondelete="CASCADE"), nullable=True
    )
    step_no: Mapped[int | None] = mapped_column(Integer, nullable=True)
    playbook_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    supplier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    supplier_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(16))
    template: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    provider_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class InAppMessage(Base):
    """A coaching message or milestone celebration waiting in a supplier user's app.

    ``id`` is a growing sequence, so an app (or an offline device) pulls with a stable cursor.
    """

    __tablename__ = "inapp_messages"
    __table_args__ = (
        Index("ix_inapp_messages_user_id", "supplier_user_id", "id"),
        Index("uq_inapp_messages_intervention_id", "intervention_id", unique=True),
    )

    id: Mapped[int] = mapped_column(big_id, primary_key=True, autoincrement=True)
    intervention_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("interventions.id", ondelete="CASCADE")
    )
    supplier_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    supplier_user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(16))  # "coach" | "celebration"
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    cta_label: Mapped[str | None] = mapped_column(String(80), nullable=True)
    cta_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ContactPreference(Base):
    """A supplier user's choice for one channel and category (no row: subscribed)."""

    __tablename__ = "contact_preferences"

    supplier_user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("supplier_users.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    subscribed: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(32))  # "unsubscribe_link" | "api" | "one_click"
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    DISMISSED = "dismissed"


class SuccessTask(Base):
    """A call to action for the success team; one open task per (supplier, reason)."""

    __tablename__ = "success_tasks"
    __table_args__ = (
        Index(
            "uq_success_tasks_open_reason",
            "supplier_id",
            "reason",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_success_tasks_owner_status", "owner_id", "status", "due_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    supplier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str] = mapped_column(String(8))  # "low" | "medium" | "high" | "urgent"
    status: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("team_users.id", ondelete="SET NULL"), nullable=True
    )
    due_on: Mapped[date] = mapped_column(Date)
    snoozed_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    """A snoozed open task is out of the due lists until this day."""
    run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("playbook_runs.id", ondelete="SET NULL"), nullable=True
    )
    times_triggered: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SweepMark(Base):
    """The last day a scheduled trigger sweep ran, so a daily sweep runs once per day."""

    __tablename__ = "intervention_sweeps"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_day: Mapped[date] = mapped_column(Date)
