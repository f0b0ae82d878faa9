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


class ReportingTotal(BaseModel):
    """A sum across currencies, in the reporting currency, with the rates it used."""

    currency: str = Field(description="The reporting currency (WEDSYNC_REPORTING_CURRENCY)")
    total_minor: int = Field(description="Sum of every amount whose currency has a rate")
    rates: dict[str, float] = Field(
        description="The rate used for each other currency: units of the reporting currency "
        "per unit (WEDSYNC_FX_RATES)"
    )
    not_converted_minor: dict[str, int] = Field(
        description="Amounts in currencies without a rate, left out of total_minor"
    )


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
    mrr_at_risk: ReportingTotal = Field(
        description="The same MRR at risk in the reporting currency, with the rates used"
    )
    milestones_this_week: int
    health_distribution: list[HistogramBin]
    churn_by_month: list[MonthlyChurn]
    new_at_risk_by_week: list[WeeklyCount]
