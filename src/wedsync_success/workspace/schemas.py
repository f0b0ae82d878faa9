"""Pydantic shapes of notes and account alert snoozes in the API and the dashboard's forms."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from wedsync_success.kit.emails import Email
from wedsync_success.kit.limits import StoredText

NOTE_MAX_CHARS = 10_000
SNOOZE_MAX_DAYS = 90
SNOOZE_REASON_MAX_CHARS = 500


class NoteText(BaseModel):
    """What a team member writes; surrounding blank space is dropped, blank notes refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    body: StoredText = Field(min_length=1, max_length=NOTE_MAX_CHARS)


class NoteIn(NoteText):
    """A note written through the API on behalf of a team member (an API key has no author
    of its own): ``author_email`` names the enabled admin or manager who wrote it."""

    author_email: Email = Field(
        max_length=320, description="the team member the note is by; they alone can edit it"
    )


class NoteOut(BaseModel):
    id: uuid.UUID
    supplier_id: uuid.UUID
    author_id: uuid.UUID | None = Field(description="null once the author's account is deleted")
    author_name: str | None
    body: str
    created_at: datetime
    updated_at: datetime
    edited: bool = Field(description="changed after it was written (updated_at says when)")


class NotePage(BaseModel):
    items: list[NoteOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end")


class SnoozeIn(BaseModel):
    """Hold the account's automatic alerts for ``days`` days, saying why."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    days: int = Field(ge=1, le=SNOOZE_MAX_DAYS)
    reason: StoredText = Field(min_length=1, max_length=SNOOZE_REASON_MAX_CHARS)


class SnoozeOut(BaseModel):
    id: uuid.UUID
    supplier_id: uuid.UUID
    snoozed_by: uuid.UUID | None
    snoozed_by_name: str | None
    reason: str
    starts_at: datetime
    until: datetime
    ended_at: datetime | None
