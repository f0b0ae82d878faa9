"""Supplier and supplier-user tables."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from wedsync_success.db import Base, UTCDateTime
from wedsync_success.db.types import big_id


class VendorType(enum.StrEnum):
    PHOTOGRAPHER = "photographer"
    VIDEOGRAPHER = "videographer"
    VENUE = "venue"
    FLORIST = "florist"
    PLANNER = "planner"
    CATERER = "caterer"
    BAND_DJ = "band_dj"
    CAKE = "cake"
    HAIR_MAKEUP = "hair_makeup"
    STATIONERY = "stationery"
    OTHER = "other"


class PlanTier(enum.StrEnum):
    FREE = "free"
    STARTER = "starter"
    PROFESSIONAL = "professional"
    SCALE = "scale"


class SubscriptionStatus(enum.StrEnum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELLED = "cancelled"


class Supplier(Base):
    """A wedding business that subscribes to WedSync, with its current subscription."""

    __tablename__ = "suppliers"
    __table_args__ = (
        Index("ix_suppliers_business_name", "business_name", "id"),
        Index("ux_suppliers_external_id", "external_id", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    external_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    """The customer's own id for the supplier (its billing or CRM id), unique when given:
    imports, the events API and the supplier routes take it wherever they take ``id``."""
    business_name: Mapped[str] = mapped_column(String(200))
    vendor_type: Mapped[str] = mapped_column(String(32), index=True)
    country: Mapped[str] = mapped_column(String(2))
    signed_up_at: Mapped[datetime] = mapped_column(UTCDateTime)
    plan_tier: Mapped[str] = mapped_column(String(32), index=True)
    mrr_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    subscription_status: Mapped[str] = mapped_column(String(16), index=True)
    subscription_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    subscription_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancellation_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    acquisition_channel: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """How the supplier found WedSync (organic_search, referral, paid_social, ...): free
    text as the customer's CRM names it, for cohorts and LTV by channel; NULL: unknown."""
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """IANA zone for quiet hours; when empty, the main zone of ``country``."""
    account_owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("team_users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    """The success manager who owns the account (tasks go to them first)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SupplierUser(Base):
    """A person who logs in to WedSync on behalf of a supplier."""

    __tablename__ = "supplier_users"
    __table_args__ = (Index("ix_supplier_users_supplier_id", "supplier_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    supplier_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    """No foreign key (migration 0039): its check of every inserted user was a tenth of a
    first import on PostgreSQL; a trigger on ``suppliers`` deletes a deleted supplier's users."""
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32), default="owner")
    phone: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """E.164, for SMS."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


def _search_text(length: int) -> String:
    """Text compared in code point order on both backends (SQLite's default; PostgreSQL's
    "C" collation), so a prefix is a plain index range."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class SupplierNameWord(Base):
    """One searchable word of a supplier's business name (``suppliers/names.py`` folds and
    splits), replaced whenever the name is written; the folded name rides along as the sort
    key, so a search reads only this table's index."""

    __tablename__ = "supplier_name_words"
    __table_args__ = (
        Index("ix_supplier_name_words_word", "word", "name_key", "supplier_id"),
        # Only first words are read through it (the names in order): one entry a supplier.
        Index(
            "ix_supplier_name_words_first",
            "name_key",
            "supplier_id",
            postgresql_where=text("first IS true"),
            sqlite_where=text("first IS 1"),
        ),
    )

    supplier_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    """No foreign key (migration 0038): its check of every inserted word was a tenth of a
    first import on PostgreSQL; a trigger on ``suppliers`` deletes a deleted supplier's words."""
    word: Mapped[str] = mapped_column(_search_text(64), primary_key=True)
    name_key: Mapped[str] = mapped_column(_search_text(200))
    first: Mapped[bool] = mapped_column(Boolean)
    """Whether this is the name's first word: one row per supplier, the names in order."""


class SubscriptionPeriod(Base):
    """One billed period of one of a supplier's subscriptions, ``[starts_at, ends_at)``, as a
    billing system exports it (an open period has no end yet). A supplier may hold several
    subscriptions at once; its current subscription on the supplier row is derived from
    these (``suppliers/periods.py``). One row per (supplier, plan, start): importing the same
    period again updates it."""

    __tablename__ = "subscription_periods"
    # Also the index a supplier's periods are read by (it leads with supplier_id).
    __table_args__ = (UniqueConstraint("supplier_id", "plan", "starts_at"),)

    id: Mapped[int] = mapped_column(big_id, primary_key=True, autoincrement=True)
    supplier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    plan: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    mrr_minor: Mapped[int] = mapped_column(BigInteger)
    """Monthly recurring revenue of the period, before ``discount_minor``, in minor units."""
    currency: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    """Monthly discount, in minor units: the period brings ``mrr_minor - discount_minor``."""
    bill_period_months: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SupplierCoverage(Base):
    """One stretch of a supplier's stored subscription history: its periods merged where
    they overlap or touch, so the supplier is a customer at every instant of
    ``[starts_at, ends_at)`` and at no instant between two stretches. Derived from
    ``subscription_periods`` by ``suppliers/coverage.py`` wherever periods change; a
    supplier without stored periods has no stretch (its row is its one implicit period).

    ``start_month`` and ``end_month`` are the calendar-month numbers (``year * 12 + month -
    1``) of the first month start the stretch covers and of the first it no longer covers
    (NULL while open): the month starts covered are ``start_month <= m < end_month``."""

    __tablename__ = "supplier_coverage"

    supplier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("suppliers.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    """1 for the supplier's first stretch, counting up in time."""
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    start_month: Mapped[int] = mapped_column(Integer)
    end_month: Mapped[int | None] = mapped_column(Integer, nullable=True)
