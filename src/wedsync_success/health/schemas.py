"""Pydantic shapes of health scores, explanations and history."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class FactorOut(BaseModel):
    component: str
    score: float = Field(description="Component score, 0-100")
    healthy: float = Field(description="What a healthy supplier scores on this component")
    weight: float
    impact: float = Field(
        description="Points against the healthy score: 0 or more when on track, the gap's "
        "cost (negative) below it"
    )
    status: Literal["on_track", "gap"]
    detail: str = Field(description="The fact behind the component, in plain words")
    healthy_detail: str = Field(description="What a healthy supplier does, in plain words")


class ImprovementOut(BaseModel):
    component: str
    action: str = Field(description="What would bring this component to its healthy score")
    points: float = Field(description="score_if_reached minus the current score")
    score_if_reached: float = Field(description="The score with this component healthy")
    next_step: str | None = Field(description="The next concrete step, when there is one")
    next_step_points: float | None = Field(description="Points the next step alone adds")


class Explanation(BaseModel):
    healthy_score: float = Field(
        description="The score of a supplier exactly on the healthy score of every component"
    )
    strengths: list[FactorOut] = Field(description="Components on track, furthest above first")
    gaps: list[FactorOut] = Field(description="Components below healthy, costliest first")
    improvements: list[ImprovementOut] = Field(
        description="What would raise the score most, by the points it adds"
    )


class OnboardingMilestone(BaseModel):
    key: str
    name: str
    achieved: bool


class OnboardingProgress(BaseModel):
    """Where an onboarding supplier is: the days of the period and its milestones."""

    day: int = Field(description="Whole days since the signup day, as of the score")
    days: int = Field(description="Length of the onboarding period")
    ends_on: date = Field(description="The first day scored into a normal band")
    reached: int
    total: int
    milestones: list[OnboardingMilestone]


class HealthDetail(BaseModel):
    score: float
    risk_level: str
    as_of: date
    computed_at: datetime
    change_7d: float | None
    change_30d: float | None
    last_active_on: date | None
    components: dict[str, float]
    explanation: Explanation
    onboarding: OnboardingProgress | None = Field(
        default=None, description="Set while the risk level is onboarding"
    )


class HistoryPoint(BaseModel):
    as_of: date
    score: float
    risk_level: str
    components: dict[str, float]


class HealthHistory(BaseModel):
    supplier_id: str
    points: list[HistoryPoint]


class RecomputeOut(BaseModel):
    as_of: date
    scored: int
    risk_levels: dict[str, int]
    events: int


class PeerBucket(BaseModel):
    low: int = Field(description="Scores from this value (inclusive)")
    high: int = Field(description="Up to this value (exclusive, except 100)")
    count: int


class PeerStanding(BaseModel):
    """Where a supplier's health stands among its peers: the current customers of the same
    vendor type and plan that have a score, the supplier itself included."""

    supplier_id: uuid.UUID
    vendor_type: str
    plan_tier: str
    peers: int = Field(description="Suppliers in the group (refreshed every few seconds)")
    score: float | None = Field(description="The supplier's current score (null: not scored)")
    percentile: float | None = Field(
        description="Percentile rank of the score in the group, 0-100: the share scoring "
        "below it, ties counting half (null without a score or with no one to compare with)"
    )
    buckets: list[PeerBucket] = Field(description="Suppliers of the group per 10-point band")
