"""The marketing integration's API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

MessageStateName = Literal["pending", "sending", "sent", "failed"]


class MessageOut(BaseModel):
    id: int
    message_id: str = Field(description="The `messageId` (or `Idempotency-Key`): never changes")
    destination: str = Field(description="`collector`, or `campaign:KEY` for a webhook campaign")
    kind: Literal["track", "identify", "webhook"]
    supplier_id: uuid.UUID | None
    state: MessageStateName
    attempts: int
    size_bytes: int
    due_at: datetime
    last_status_code: int | None
    last_error: str | None = Field(description="The last failure, with the answer's start")
    created_at: datetime
    sent_at: datetime | None
    body: dict[str, Any] = Field(description="The message as sent")


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_before_id: int | None = Field(description="Pass as before_id for the next page")


class CampaignOut(BaseModel):
    key: str
    when: Literal["risk_rise", "segment_entered"]
    action: Literal["track", "webhook"]
    cooldown_days: float
    active: bool = Field(description="False for a track campaign while no collector is set")


class MarketingStatus(BaseModel):
    enabled: bool = Field(description="Whether a collector URL (WEDSYNC_MARKETING_URL) is set")
    batch_url: str | None = Field(description="Where batches go (no credentials)")
    messages: dict[str, int] = Field(description="Messages by state")
    campaigns: list[CampaignOut]
