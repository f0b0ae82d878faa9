"""Pydantic shapes of milestone definitions, rates and a supplier's progress."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ConditionOut(BaseModel):
    event_type: str
    min_count: int
    properties: dict[str, str]


class MilestoneStats(BaseModel):
    key: str
    name: str
    description: str
    conditions: list[ConditionOut]
    achieved: int = Field(description="Suppliers who reached it")
    achievement_rate: float = Field(description="Share of all suppliers who reached it, 0-1")
    avg_days_to_achieve: float | None = Field(description="Average days from signup")


class MilestoneProgress(BaseModel):
    """A milestone from one supplier's point of view."""

    key: str
    name: str
    description: str
    achieved: bool
    achieved_at: datetime | None = None
    days_to_achieve: float | None = None
    progress: float = Field(description="0-1: share of the way through its conditions")
