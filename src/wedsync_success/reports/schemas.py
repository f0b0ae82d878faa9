"""Pydantic shapes of the overview report."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from wedsync_success.reports.windows import ReportPeriod


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


class MrrMovement(BaseModel):
    """How MRR moved over one period, in minor units of one currency (``docs/reports.md``).

    ``mrr_start + mrr_new + mrr_expansion - mrr_contraction - mrr_churned + mrr_reactivation
    == mrr_end`` holds exactly in every currency (in the reporting currency up to rounding:
    each figure is converted on its own).
    """

    mrr_start: int = Field(description="Net MRR of the suppliers active at the first instant")
    mrr_new: int = Field(description="End MRR of suppliers seen for the first time")
    mrr_expansion: int = Field(description="MRR gained by suppliers active at start and end")
    mrr_contraction: int = Field(description="MRR lost by suppliers active at start and end")
    mrr_churned: int = Field(description="Start MRR of suppliers active at start, not at end")
    mrr_reactivation: int = Field(description="End MRR of returning suppliers")
    mrr_end: int = Field(description="Net MRR of the suppliers active at the end instant")
    mrr_churn_rate: float | None = Field(
        description="(mrr_churned + mrr_contraction) / mrr_start; null when mrr_start is 0"
    )
    grr: float | None = Field(
        description="(mrr_start - mrr_churned - mrr_contraction) / mrr_start (never above 1)"
    )
    nrr: float | None = Field(
        description="End MRR of the starting suppliers, expansion included, / mrr_start"
    )


class RetentionPeriod(BaseModel):
    """Logo and MRR movements over one period ``[start, end)``."""

    start: date = Field(description="First day (from midnight UTC)")
    end: date = Field(description="First day after the period (its end instant, excluded)")
    days: int
    complete: bool = Field(
        description="False when the report's end cut the period short of its full length"
    )
    active_at_start: int = Field(description="Suppliers a period covers at the first instant")
    churned: int = Field(description="Of those, suppliers no period covers at the end instant")
    logo_churn_rate: float | None = Field(description="churned / active_at_start")
    new: int = Field(description="Active at the end, not at the start, no period before")
    reactivated: int = Field(description="Active at the end, not at the start, a period before")
    active_at_end: int
    monthly_logo_churn: float | None = Field(
        description="logo_churn_rate for a complete month; otherwise scaled to a month of "
        "30.4375 days from the period's length: 1 - (1 - rate) ** (30.4375 / days)"
    )
    annualised_logo_churn: float | None = Field(description="1 - (1 - monthly_logo_churn) ** 12")
    mrr: dict[str, MrrMovement] = Field(description="MRR movements per currency")
    reporting: MrrMovement = Field(
        description="The same in the reporting currency, over the currencies that have a rate"
    )


class RetentionReport(BaseModel):
    """Retention and MRR movements for each period of a window, computed from history."""

    start: date = Field(description="First day of the report")
    end: date = Field(description="First day after the report")
    period: ReportPeriod
    reporting_currency: str
    rates: dict[str, float] = Field(
        description="Units of the reporting currency per unit of each other currency used"
    )
    not_converted: list[str] = Field(
        description="Currencies without a rate: left out of every ``reporting`` figure"
    )
    suppliers_without_history: int = Field(
        description="Suppliers with no stored subscription period, counted from their row's "
        "subscription as one implicit period"
    )
    periods: list[RetentionPeriod]
