"""Pydantic shapes of suppliers in and out of the API."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from wedsync_success.kit.batch import RejectedItem
from wedsync_success.kit.emails import Email
from wedsync_success.kit.limits import (
    MAX_AMOUNT_MINOR,
    StoredInstant,
    StoredText,
    check_text,
)
from wedsync_success.kit.phones import e164
from wedsync_success.suppliers.models import PlanTier, SubscriptionStatus, VendorType

EXTERNAL_ID_PATTERN = r"^[^/\x00-\x1f\x7f]+$"
_NOT_IN_EXTERNAL_IDS = re.compile(r"[/\x00-\x1f\x7f]")


def _check_external_id(value: str) -> str:
    found = _NOT_IN_EXTERNAL_IDS.search(check_text(value))
    if found is None:
        return value
    if found.group() == "/":
        raise PydanticCustomError("external_id", "must not contain '/': it goes in URL paths")
    code = f"U+{ord(found.group()):04X}"
    raise PydanticCustomError("external_id", f"must not contain a control character ({code})")


ExternalId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        description="The customer's own id for the supplier (a billing or CRM id), unique; "
        "no slash or control character, so it fits in a URL path",
        examples=["cus_Nffrfe6Q3x"],
        json_schema_extra={"pattern": EXTERNAL_ID_PATTERN},
    ),
    AfterValidator(_check_external_id),
]
"""A supplier's external id as the API and imports take it."""


class SupplierUserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID | None = None
    email: Email
    name: StoredText = Field(min_length=1, max_length=200)
    role: StoredText = Field(default="owner", max_length=32)
    phone: str | None = Field(
        default=None,
        max_length=32,
        description="Mobile number with its country code (+44 7911 123456), stored as E.164; "
        "for SMS",
    )

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else e164(value)


class SupplierIn(BaseModel):
    """A supplier to create or update: matched on ``id``, else on ``external_id``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: uuid.UUID | None = None
    external_id: ExternalId | None = Field(
        default=None,
        description="The customer's own id (unique): matches an existing supplier when id is "
        "omitted; given with an id, sets or changes that supplier's; omitted, keeps it",
    )
    business_name: StoredText = Field(min_length=1, max_length=200)
    vendor_type: VendorType
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
    signed_up_at: StoredInstant
    plan_tier: PlanTier
    mrr_minor: int = Field(
        ge=0, le=MAX_AMOUNT_MINOR, description="Monthly recurring revenue in minor units"
    )
    currency: str = Field(default="GBP", pattern=r"^[A-Z]{3}$")
    subscription_status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    subscription_started_at: StoredInstant | None = None
    subscription_ended_at: StoredInstant | None = None
    cancellation_reason: StoredText | None = Field(default=None, max_length=200)
    acquisition_channel: StoredText | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="How the supplier found WedSync (e.g. organic_search, referral, "
        "paid_social, partner, event), as the CRM names it; for cohorts and LTV by channel",
        examples=["referral"],
    )
    time_zone: str | None = Field(
        default=None,
        max_length=64,
        description="IANA time zone (Europe/London) for quiet hours; default: the country's",
    )
    account_owner_id: uuid.UUID | None = Field(
        default=None, description="The team member who owns the account (gets its tasks)"
    )
    users: list[SupplierUserIn] | None = Field(
        default=None,
        max_length=50,
        description="The supplier's users, replacing the ones it has (matched on id, else "
        "email); omitted: unchanged",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("is not a known IANA time zone, e.g. Europe/London") from exc
        return value

    @field_validator("users")
    @classmethod
    def _one_user_per_email(cls, users: list[SupplierUserIn] | None) -> list[SupplierUserIn] | None:
        """Users are matched to the stored ones by email: two with one email would both
        claim the same stored user."""
        first: dict[str, int] = {}
        for index, user in enumerate(users or ()):
            earlier = first.setdefault(user.email.lower(), index)
            if earlier != index:
                raise ValueError(f"users {earlier} and {index} have the same email")
        return users

    @model_validator(mode="after")
    def _cancellation_is_consistent(self) -> Self:
        cancelled = self.subscription_status == SubscriptionStatus.CANCELLED
        if cancelled and self.subscription_ended_at is None:
            raise ValueError("a cancelled subscription needs subscription_ended_at")
        if not cancelled and self.subscription_ended_at is not None:
            raise ValueError("subscription_ended_at is only allowed when status is cancelled")
        return self


SUPPLIER_FIELDS: tuple[str, ...] = tuple(
    name for name in SupplierIn.model_fields if name not in ("id", "external_id", "users")
)
"""The supplier's own fields as ``SupplierIn`` takes them, one column each: what an import
line may carry, and what it keeps from the stored supplier when it leaves one out."""


class SupplierBatchResult(BaseModel):
    created: int
    updated: int
    rejected: int
    errors: list[RejectedItem] = Field(default_factory=list)
    ids: list[uuid.UUID] = Field(default_factory=list, description="Ids of accepted suppliers")


class SupplierUserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str
    role: str
    phone: str | None = None
    last_seen_at: datetime | None = Field(
        default=None, description="their latest activity event; null when they have none"
    )


class HealthSummary(BaseModel):
    score: float
    risk_level: str
    as_of: date
    change_7d: float | None
    change_30d: float | None


class ChurnSummary(BaseModel):
    """The supplier's current churn prediction (the latest logged one) and what it puts at
    stake: the churn model's view, next to the health score's."""

    probability: float = Field(description="Calibrated probability of leaving within the horizon")
    risk_band: str = Field(description="The churn model's band: low, medium or high")
    as_of: date = Field(description="The day the model's features were as of")
    horizon_days: int
    model_version: str
    predicted_at: datetime
    expected_mrr_loss_minor: int | None = Field(
        description="Expected MRR lost = probability x MRR, in minor units of "
        "expected_mrr_loss_currency; null when the supplier's currency has no configured rate"
    )
    expected_mrr_loss_currency: str = Field(description="The reporting currency")


class SupplierOut(BaseModel):
    """A supplier with its current health, as listed."""

    id: uuid.UUID
    external_id: str | None = Field(
        default=None, description="The customer's own id; null when none was given"
    )
    business_name: str
    vendor_type: str
    country: str
    plan_tier: str
    mrr_minor: int
    currency: str
    subscription_status: str
    signed_up_at: datetime
    account_owner_id: uuid.UUID | None = Field(
        default=None, description="The team member who owns the account; null when nobody does"
    )
    health: HealthSummary | None
    churn: ChurnSummary | None = Field(
        default=None, description="The latest churn prediction; null before the first scoring"
    )


class SupplierPage(BaseModel):
    items: list[SupplierOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end")


MAX_OWNER_BATCH = 500
"""Accounts one assignment may move (a list page holds at most 200)."""


class OwnerAssignmentIn(BaseModel):
    """Give accounts to a team member, or to nobody."""

    model_config = ConfigDict(extra="forbid")

    supplier_ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=MAX_OWNER_BATCH,
        description="The accounts to move (a repeated id counts once)",
    )
    owner_id: uuid.UUID | None = Field(
        description="An enabled admin or manager; null leaves the accounts without an owner"
    )


class OwnerAssignment(BaseModel):
    """What an assignment did."""

    owner_id: uuid.UUID | None
    owner_name: str | None = Field(description="The new owner's name; null for nobody")
    assigned: int = Field(description="Accounts that now have this owner and did not before")
    unchanged: int = Field(description="Accounts that already had this owner")
    rejected: int
    errors: list[RejectedItem] = Field(
        default_factory=list, description="Ids that name no supplier, by position"
    )


class SupplierMatch(BaseModel):
    """A supplier whose name matches a search."""

    id: uuid.UUID
    business_name: str
    vendor_type: str
    health_score: float | None = Field(description="Current health score; null before scoring")
    risk_level: str | None = Field(description="Current health band; null before scoring")


class SupplierMatches(BaseModel):
    items: list[SupplierMatch] = Field(
        description="Names starting with the query first, then the rest, each by name"
    )
