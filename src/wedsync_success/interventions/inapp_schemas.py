"""What the in-app routes read and answer: a supplier user's messages and the marks on them."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

MAX_PAGE = 200
"""The most messages one pull answers; ``has_more`` says to pull again."""


class MessageKind(enum.StrEnum):
    COACH = "coach"  # the InAppCoach: a coaching card with a call to action
    CELEBRATION = "celebration"  # the MilestoneCard: a milestone reached
    SURVEY_NPS = "survey_nps"  # a 0-10 "would you recommend us?": the app shows the scores
    SURVEY_CSAT = "survey_csat"  # a 1-5 "how satisfied were you?"


class InAppAction(enum.StrEnum):
    """What the app reports a user did with a message; each is recorded once."""

    SEEN = "seen"
    CLICKED = "clicked"
    DISMISSED = "dismissed"


class InAppMessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Growing per message: the pull cursor")
    kind: MessageKind
    title: str
    body: str
    cta_label: str | None
    cta_url: str | None
    created_at: datetime
    seen_at: datetime | None
    clicked_at: datetime | None
    dismissed_at: datetime | None


class InAppPage(BaseModel):
    items: list[InAppMessageOut] = Field(description="Not dismissed, oldest first")
    next_cursor: int | None = Field(
        description="Send as `after` on the next pull (the last id answered, else the `after` "
        "given); keep it across sessions and devices going offline"
    )
    has_more: bool = Field(description="More messages wait after `next_cursor`")


class MarkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    supplier_user_id: uuid.UUID = Field(
        description="The user the app acts for; a message of another user is not found"
    )
