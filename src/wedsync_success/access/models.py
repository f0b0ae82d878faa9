"""API keys (stored only as a hash of the secret) and dashboard team accounts."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wedsync_success.db import Base, JSONType, UTCDateTime, big_id


class ApiKey(Base):
    """An API key: a name, its scopes and the SHA-256 of its secret."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TeamRole(enum.StrEnum):
    """What a team member may do in the dashboard (enforced on the server, per route)."""

    ADMIN = "admin"
    """Everything a manager can, and manage the team."""
    MANAGER = "manager"
    """Own accounts; send messages, assign, write notes, work tasks, start playbooks."""
    VIEWER = "viewer"
    """Read every page; change nothing."""


class TeamUser(Base):
    """A member of the success team who signs in to the dashboard."""

    __tablename__ = "team_users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=TeamRole.MANAGER.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def can_act(self) -> bool:
        """May change things (send, assign, edit, work tasks): admins and managers."""
        return self.role in (TeamRole.ADMIN, TeamRole.MANAGER)


class TeamSession(Base):
    """A signed-in dashboard session; deleting the row ends it wherever its cookie is.

    The cookie carries a random token; only its SHA-256 is stored, so the table alone
    cannot be replayed as cookies.
    """

    __tablename__ = "team_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("team_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """One failed sign-in, counted against both the email tried and the client address."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_subject_time", "scope", "subject", "failed_at"),
        Index("ix_login_failures_failed_at", "failed_at"),
    )

    id: Mapped[int] = mapped_column(big_id, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(320))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiRateCounter(Base):
    """Requests of one API key in one fixed window (PostgreSQL: shared by every process)."""

    __tablename__ = "api_rate_counters"

    key_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    requests: Mapped[int] = mapped_column(Integer)
