"""Pydantic shapes of health scores, explanations and history."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class FactorOut(BaseModel):
    component: str
    score: float = Field(description="Component score, 0-100")
    weight: float
    impact: float = Field(description="Points this component adds to (or takes from) 50")
    detail: str = Field(description="The reason, in plain words")


class Explanation(BaseModel):
    baseline: float = Field(description="The neutral score impacts are measured from")
    raising: list[FactorOut]
    lowering: list[FactorOut]


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
