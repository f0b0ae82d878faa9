"""Webhook endpoints, deliveries and attempts as the API reads and answers them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, field_validator

from wedsync_success.events.types import SuccessEventType

EVENT_TYPES = frozenset(t.value for t in SuccessEventType)


def _known_types(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    unknown = sorted(set(value) - EVENT_TYPES)
    if unknown:
        raise ValueError(f"unknown event types {unknown}; known: {sorted(EVENT_TYPES)}")
    return sorted(set(value))


EventTypes = list[str] | None
_EVENT_TYPES_FIELD = Field(
    default=None,
    max_length=len(EVENT_TYPES),
    description="Dotted success-event names this endpoint hears (e.g. "
    "`supplier.milestone_achieved`); null: every type",
)


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, description="Where events are POSTed")
    description: str = Field(default="", max_length=500)
    event_types: EventTypes = _EVENT_TYPES_FIELD
    enabled: StrictBool = True

    _types = field_validator("event_types")(_known_types)


class EndpointPatch(BaseModel):
    """Fields to change; those left out keep their value. Enabling an endpoint does not
    send what was held while it was disabled: replay that explicitly."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=2000)
    description: str | None = Field(default=None, max_length=500)
    event_types: EventTypes = _EVENT_TYPES_FIELD
    all_event_types: StrictBool = Field(
        default=False, description="Set to true to hear every type (event_types becomes null)"
    )
    enabled: StrictBool | None = None

    _types = field_validator("event_types")(_known_types)


class EndpointOut(BaseModel):
    id: uuid.UUID
    url: str
    description: str
    event_types: list[str] | None
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="Until when the secret replaced by the last rotation still signs"
    )
    failing_since: datetime | None
    deliveries: dict[str, int] = Field(description="How many deliveries are in each state")
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(description="The signing secret (`whsec_…`); shown only this once")


class SecretRotated(BaseModel):
    secret: str = Field(description="The new signing secret; shown only this once")
    previous_secret_expires_at: datetime = Field(
        description="Until when the old secret signs too (both signatures are sent)"
    )


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime | None = Field(
        default=None,
        description="Replay every event (of the endpoint's types) that occurred at or after "
        "this time, delivered or not; null: replay only what was held while it was disabled",
    )


class ReplayOut(BaseModel):
    queued: int


DeliveryStateName = Literal["pending", "sending", "delivered", "failed", "held"]


class DeliveryOut(BaseModel):
    id: int
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    msg_id: str = Field(description="The `webhook-id` header: the same at every attempt")
    state: DeliveryStateName
    attempts: int
    occurred_at: datetime
    due_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class AttemptOut(BaseModel):
    attempt_no: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    response_snippet: str | None = Field(description="The answer's start, made printable")
    error: str | None


class DeliveryDetail(DeliveryOut):
    body: dict[str, Any]
    attempt_log: list[AttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_before_id: int | None = Field(description="Pass as before_id for the next page")
