"""Pydantic shapes of the overview report."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class MonthlyChurn(BaseModel):
    month: date = Field(description="First day of the month")
    active_at_start: int
    churned: int
    rate: float | None = Field(description="churned / active_at_start; null with no one active")
    complete: bool = Field(description="False for the month still running")


class WeeklyCount(BaseModel):
    week_start: date
    count: int


class HistogramBin(BaseModel):
    low: int
    high: int
    count: int


class Overview(BaseModel):
    as_of: date
    active_suppliers: int
    churn_this_month: MonthlyChurn
    churn_last_month: MonthlyChurn
    average_health: float | None
    suppliers_by_risk: dict[str, int]
    mrr_at_risk_minor: dict[str, int] = Field(
        description="MRR (minor units) of at-risk and critical suppliers, per currency"
    )
    milestones_this_week: int
    health_distribution: list[HistogramBin]
    churn_by_month: list[MonthlyChurn]
    new_at_risk_by_week: list[WeeklyCount]
