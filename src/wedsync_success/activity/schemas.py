"""Pydantic shapes for ingesting activity events and reporting what happened to them."""

from __future__ import annotations

import uuid
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wedsync_success.kit.batch import RejectedItem
from wedsync_success.kit.limits import (
    EARLIEST,
    MAX_AMOUNT_MINOR,
    MAX_PROPERTIES_BYTES,
    MAX_PROPERTY_DEPTH,
    MAX_PROPERTY_KEYS,
    StoredInstant,
    StoredText,
    json_problem,
    property_error,
)
from wedsync_success.suppliers.schemas import ExternalId

KNOWN_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "login",
        "form_created",
        "form_submitted",
        "client_added",
        "journey_started",
        "journey_completed",
        "message_sent",
        "invoice_sent",
        "payment_received",
        "payment_failed",
        "support_ticket_opened",
        "support_ticket_closed",
        "feature_used",
        "referral_sent",
        "referral_converted",
        "profile_completed",
        "subscription_changed",
        "subscription_cancelled",
    }
)
"""Types the scoring knows about; any other well-formed type is stored and counted too."""

SUBSCRIPTION_EVENT_TYPES: frozenset[str] = frozenset(
    {"subscription_changed", "subscription_cancelled"}
)
"""Events that also change the supplier's subscription record."""


class EventIn(BaseModel):
    """One activity event as a client sends it (limits: ``kit/limits.py``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    event_id: StoredText = Field(min_length=1, max_length=128, description="Client idempotency key")
    supplier_id: uuid.UUID | None = Field(
        default=None, description="The supplier's id; or give supplier_external_id instead"
    )
    supplier_external_id: ExternalId | None = Field(
        default=None,
        description="The supplier's external id (the customer's own), in place of supplier_id",
    )
    user_id: uuid.UUID | None = None
    type: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.]*$")
    occurred_at: StoredInstant = Field(
        description=f"ISO 8601 with a time zone, from {EARLIEST.date()} to now + 5 minutes"
    )
    properties: dict[Any, Any] = Field(
        default_factory=dict,
        description=f"A JSON object: at most {MAX_PROPERTY_DEPTH} levels deep, "
        f"{MAX_PROPERTY_KEYS} keys per object, {MAX_PROPERTIES_BYTES} bytes; text without "
        "NUL, integers within 64 bits, finite numbers. `amount` is an integer in minor "
        f"units, at most {MAX_AMOUNT_MINOR} either way.",
    )
    """Keys are typed ``Any`` so that pydantic does not turn a key it cannot read as text
    into an error without a path; :func:`json_problem` names such keys itself."""

    @model_validator(mode="after")
    def _one_supplier(self) -> Self:
        if (self.supplier_id is None) == (self.supplier_external_id is None):
            raise ValueError("give exactly one of supplier_id and supplier_external_id")
        return self

    @field_validator("properties")
    @classmethod
    def _storable(cls, value: dict[Any, Any]) -> dict[str, Any]:
        problem = properties_problem(value)
        if problem is not None:
            raise property_error(*problem)
        return value


def properties_problem(value: dict[Any, Any]) -> tuple[str, str] | None:
    """What in an event's ``properties`` cannot be stored, as (path inside them, reason);
    None when all of it can (the schema's rule, shared with the fast path of ``columns``)."""
    amount = value.get("amount")
    if amount is not None and (
        isinstance(amount, bool) or not isinstance(amount, int) or abs(amount) > MAX_AMOUNT_MINOR
    ):
        return (
            "amount",
            f"must be a whole number of minor units (pence, cents) between "
            f"-{MAX_AMOUNT_MINOR} and {MAX_AMOUNT_MINOR}",
        )
    return referral_problem(value) or json_problem(value)


REFERRED_MAX_LENGTH = 254
"""The longest ``referred`` reference (an email address's limit; ``referral_edges`` keeps it)."""


def referral_problem(value: dict[Any, Any]) -> tuple[str, str] | None:
    """What is wrong with the referral network's properties, wherever they appear: the
    ``referred`` business (an email or the product's own reference) and the
    ``referred_supplier_id`` that signed up become a referral edge, so each must be storable
    as one (``integrations.referrals``)."""
    referred = value.get("referred")
    if referred is not None and (
        not isinstance(referred, str) or not referred.strip() or len(referred) > REFERRED_MAX_LENGTH
    ):
        return (
            "referred",
            f"must be a non-blank text of at most {REFERRED_MAX_LENGTH} characters "
            "(the referred business's email or reference)",
        )
    supplier = value.get("referred_supplier_id")
    if supplier is not None:
        try:
            if not isinstance(supplier, str) or str(uuid.UUID(supplier)) != supplier.lower():
                raise ValueError
        except ValueError:
            return (
                "referred_supplier_id",
                "must be the id of the supplier that signed up, a UUID as "
                "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
            )
    return None


class IngestResult(BaseModel):
    """What happened to each item of a batch; ``accepted + duplicates + rejected`` = batch size."""

    accepted: int
    duplicates: int
    rejected: int
    errors: list[RejectedItem] = Field(default_factory=list)
    affected_suppliers: int = 0
