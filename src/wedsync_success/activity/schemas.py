"""Pydantic shapes for ingesting activity events and reporting what happened to them."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from wedsync_success.kit.batch import RejectedItem

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
    """One activity event as a client sends it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    event_id: str = Field(min_length=1, max_length=128, description="Client idempotency key")
    supplier_id: uuid.UUID
    user_id: uuid.UUID | None = None
    type: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.]*$")
    occurred_at: AwareDatetime
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("properties")
    @classmethod
    def _amount_is_minor_units(cls, value: dict[str, Any]) -> dict[str, Any]:
        amount = value.get("amount")
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)):
            raise ValueError("properties.amount must be an integer amount in minor units")
        return value


class IngestResult(BaseModel):
    """What happened to each item of a batch; ``accepted + duplicates + rejected`` = batch size."""

    accepted: int
    duplicates: int
    rejected: int
    errors: list[RejectedItem] = Field(default_factory=list)
    affected_suppliers: int = 0
