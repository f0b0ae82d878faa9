"""Notes on suppliers and account alert snoozes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wedsync_success.db import Base, UTCDateTime


class SupplierNote(Base):
    """A team member's note on a supplier; only its author edits it."""

    __tablename__ = "supplier_notes"
    __table_args__ = (Index("ix_supplier_notes_supplier_time", "supplier_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    supplier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("team_users.id", ondelete="SET NULL"), nullable=True
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AccountSnooze(Base):
    """The account's alerts held until ``until``, and why; ended early by ``ended_at``.

    Rows are kept as history: the active snooze of a supplier is the one with
    ``starts_at <= now < until`` and no ``ended_at``.
    """

    __tablename__ = "account_snoozes"
    __table_args__ = (Index("ix_account_snoozes_supplier_until", "supplier_id", "until"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    supplier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    snoozed_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("team_users.id", ondelete="SET NULL"), nullable=True
    )
    reason: Mapped[str] = mapped_column(String(500))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
