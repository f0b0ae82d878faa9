"""Contact preferences as the API reads and answers them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StrictBool, model_validator

from wedsync_success.interventions.channels.base import Category

PreferenceChannel = Literal["email", "in_app", "sms"]
"""The channels that reach a supplier user (tasks and webhooks go to others)."""


class PreferenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: PreferenceChannel
    category: Category
    subscribed: StrictBool


class PreferenceUpdate(RootModel[list[PreferenceIn]]):
    """The choices to store; channels and categories not listed keep their current choice."""

    root: list[PreferenceIn] = Field(min_length=1, max_length=6)

    @model_validator(mode="after")
    def _one_choice_each(self) -> PreferenceUpdate:
        seen: set[tuple[str, str]] = set()
        for item in self.root:
            key = (item.channel, item.category.value)
            if key in seen:
                raise ValueError(f"{item.channel}/{item.category.value} is listed twice")
            seen.add(key)
        return self


class Preference(BaseModel):
    channel: PreferenceChannel
    category: Category
    subscribed: bool
    source: str | None = Field(
        description="What set it (api, unsubscribe_link, one_click); null: never set, the "
        "default (subscribed)"
    )
    updated_at: datetime | None


class Preferences(BaseModel):
    supplier_user_id: uuid.UUID
    preferences: list[Preference] = Field(description="Every channel and category, in order")
