"""Subscription history: billed periods in, each supplier's current subscription out.

A billing system exports one row per billed period of each subscription: ``[start, end)``,
half-open, with its plan, MRR and currency; an open period has no end yet. A supplier may
hold several subscriptions at once (two plans, add-ons), so periods of *different* plans may
overlap, while two periods of the same plan may not (that is one subscription billed twice).
The supplier row's subscription (status, plan, MRR, currency, start, end) is derived from
its periods at an instant by :func:`current_subscription`, one rule for every writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from wedsync_success.kit.limits import MAX_AMOUNT_MINOR, StoredDay, StoredInstant
from wedsync_success.suppliers.models import PlanTier, SubscriptionStatus
from wedsync_success.suppliers.schemas import ExternalId


class PeriodIn(BaseModel):
    """One billed period of a subscription, as ``import subscriptions`` reads it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    supplier_external_id: ExternalId
    plan: PlanTier
    start_date: StoredDay | StoredInstant = Field(
        description="First day (midnight UTC) or instant the period covers"
    )
    end_date: StoredDay | StoredInstant | None = Field(
        default=None, description="First day or instant it no longer covers; empty: still open"
    )
    mrr_minor: int = Field(ge=0, le=MAX_AMOUNT_MINOR, description="MRR in minor units")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    quantity: int = Field(default=1, ge=1, le=1_000_000)
    discount_minor: int = Field(default=0, ge=0, le=MAX_AMOUNT_MINOR)
    bill_period_months: int = Field(default=1, ge=1, le=36)

    @field_validator("start_date", "end_date")
    @classmethod
    def _instant(cls, value: date | datetime | None) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return datetime.combine(value, time(), tzinfo=UTC)

    @field_validator("end_date")
    @classmethod
    def _after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("start_date")  # absent when it was itself refused
        if value is not None and start is not None and value <= start:
            raise ValueError("must be after start_date")
        return value

    @field_validator("discount_minor")
    @classmethod
    def _within_mrr(cls, value: int, info: ValidationInfo) -> int:
        mrr = info.data.get("mrr_minor")
        if mrr is not None and value > mrr:
            raise ValueError("must not exceed mrr_minor")
        return value

    @property
    def starts_at(self) -> datetime:
        assert isinstance(self.start_date, datetime)  # made so by _instant
        return self.start_date

    @property
    def ends_at(self) -> datetime | None:
        assert self.end_date is None or isinstance(self.end_date, datetime)
        return self.end_date


@dataclass(frozen=True)
class Period:
    """A stored or incoming period, as the rules below read it."""

    plan: str
    starts_at: datetime
    ends_at: datetime | None
    mrr_minor: int
    discount_minor: int
    currency: str

    def covers(self, moment: datetime) -> bool:
        """``starts_at <= moment < ends_at`` (an open period has no end)."""
        return self.starts_at <= moment and (self.ends_at is None or moment < self.ends_at)

    def overlaps(self, other: Period) -> bool:
        """Some instant is in both (half-open: one ending as the other starts does not)."""
        return self.starts_at < _end(other) and other.starts_at < _end(self)


_NEVER = datetime.max.replace(tzinfo=UTC)


def _end(period: Period) -> datetime:
    return period.ends_at or _NEVER


def overlap_of(period: Period, others: Sequence[Period]) -> Period | None:
    """The first of ``others`` of the same plan that ``period`` overlaps (not itself: a
    period with the same plan and start is the same period, imported again)."""
    for other in others:
        same = other.plan == period.plan and other.starts_at == period.starts_at
        if other.plan == period.plan and not same and period.overlaps(other):
            return other
    return None


@dataclass(frozen=True)
class CurrentSubscription:
    """What the supplier row says of its subscription, derived from the periods."""

    status: str
    plan_tier: str
    mrr_minor: int
    currency: str
    started_at: datetime
    ended_at: datetime | None

    def as_row(self) -> dict[str, Any]:
        return {
            "subscription_status": self.status,
            "plan_tier": self.plan_tier,
            "mrr_minor": self.mrr_minor,
            "currency": self.currency,
            "subscription_started_at": self.started_at,
            "subscription_ended_at": self.ended_at,
        }


def current_subscription(
    periods: Sequence[Period], *, at: datetime, status_now: str
) -> CurrentSubscription | None:
    """The supplier's subscription at ``at`` from its periods (``None`` when none has begun).

    Covered at ``at`` (some period covers it): active (or the trialing / past-due status it
    already has), MRR the sum over the covering periods net of discounts, plan and currency
    those of the largest, started when the present unbroken coverage began. Not covered:
    cancelled at the end of its last period (the latest to end; of two ending and starting
    together, the larger, then the greater plan name), with that period's plan, MRR and
    currency; a later period after a gap is a reactivation. The bulk import derives the same
    in SQL (``repository.derive_staged_subscriptions``).
    """
    begun = sorted((p for p in periods if p.starts_at <= at), key=lambda p: p.starts_at)
    if not begun:
        return None
    covering = [p for p in begun if p.covers(at)]
    if covering:
        largest = max(covering, key=lambda p: (p.mrr_minor - p.discount_minor, p.plan))
        keep = status_now in (SubscriptionStatus.TRIALING, SubscriptionStatus.PAST_DUE)
        return CurrentSubscription(
            status=status_now if keep else SubscriptionStatus.ACTIVE.value,
            plan_tier=largest.plan,
            mrr_minor=sum(p.mrr_minor - p.discount_minor for p in covering),
            currency=largest.currency,
            started_at=_coverage_start(begun, at),
            ended_at=None,
        )
    last = max(
        begun, key=lambda p: (p.ends_at or at, p.starts_at, p.mrr_minor - p.discount_minor, p.plan)
    )
    return CurrentSubscription(
        status=SubscriptionStatus.CANCELLED.value,
        plan_tier=last.plan,
        mrr_minor=last.mrr_minor - last.discount_minor,
        currency=last.currency,
        started_at=_coverage_start(begun, last.starts_at),
        ended_at=last.ends_at,
    )


def _coverage_start(begun: Sequence[Period], at: datetime) -> datetime:
    """When the unbroken coverage that includes ``at`` began (``begun`` sorted by start; a
    period starting exactly when another ends continues it)."""
    runs: list[tuple[datetime, datetime | None]] = []
    for p in begun:
        if runs and (runs[-1][1] is None or p.starts_at <= runs[-1][1]):
            start, end = runs[-1]
            runs[-1] = (start, None if end is None or p.ends_at is None else max(end, p.ends_at))
        else:
            runs.append((p.starts_at, p.ends_at))
    return next(start for start, _ in reversed(runs) if start <= at)


def period_of(row: Any) -> Period:
    """A stored period (an ORM row, or any object with its columns) as the rules read it."""
    return Period(
        plan=row.plan,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        mrr_minor=row.mrr_minor,
        discount_minor=row.discount_minor,
        currency=row.currency,
    )


def incoming(item: PeriodIn) -> Period:
    return Period(
        plan=item.plan.value,
        starts_at=item.starts_at,
        ends_at=item.ends_at,
        mrr_minor=item.mrr_minor,
        discount_minor=item.discount_minor,
        currency=item.currency,
    )
