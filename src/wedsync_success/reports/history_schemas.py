"""Pydantic shapes of the history reports: cohorts, survival, lifetime value, churn
breakdowns. Each is ready to chart (a heat map's rows and cells, a curve's points)."""

from __future__ import annotations

import enum
from datetime import date

from pydantic import BaseModel, Field


class CohortBy(enum.StrEnum):
    SIGNUP_MONTH = "signup_month"
    VENDOR_TYPE = "vendor_type"
    PLAN = "plan"
    ACQUISITION_CHANNEL = "acquisition_channel"


class CohortMetric(enum.StrEnum):
    LOGO = "logo"
    REVENUE = "revenue"


class SegmentBy(enum.StrEnum):
    """What survival curves and LTV are broken down by."""

    ALL = "all"
    VENDOR_TYPE = "vendor_type"
    PLAN = "plan"
    ACQUISITION_CHANNEL = "acquisition_channel"
    COUNTRY = "country"


class BreakdownBy(enum.StrEnum):
    CANCELLATION_REASON = "cancellation_reason"
    VENDOR_TYPE = "vendor_type"
    PLAN = "plan"
    COUNTRY = "country"
    TENURE_BAND = "tenure_band"
    ACQUISITION_CHANNEL = "acquisition_channel"


class StatedRates(BaseModel):
    currency: str = Field(description="The reporting currency every amount is in")
    rates: dict[str, float] = Field(
        description="Units of the reporting currency per unit of each other currency; MRR in "
        "a currency without a rate is left out"
    )


class CohortCell(BaseModel):
    age: int = Field(description="Months since the signup month (0 = signup)")
    members: int = Field(description="Members whose month of this age has been observed")
    active: int = Field(description="Of those, active at the first instant of that month")
    logo_retention: float | None = Field(description="active / members")
    mrr_minor: int = Field(description="Their MRR then, reporting minor units")
    start_mrr_minor: int = Field(description="The same members' MRR at their first start")
    revenue_retention: float | None = Field(
        description="mrr_minor / start_mrr_minor (net: expansion included); null when 0"
    )
    value: float | None = Field(description="The requested metric's retention")


class CohortRow(BaseModel):
    key: str = Field(description="The signup month (YYYY-MM) or the segment")
    size: int
    start_mrr_minor: int
    cells: list[CohortCell] = Field(description="Ages 0..N; an age not yet observed is left out")


class CohortTable(BaseModel):
    by: CohortBy
    metric: CohortMetric
    signed_up_from: date
    signed_up_to: date
    as_of: date
    max_age: int
    reporting: StatedRates
    definition: str
    rows: list[CohortRow]


class SurvivalPoint(BaseModel):
    month: float
    survival: float
    lower: float = Field(description="95 % confidence band, lower bound")
    upper: float = Field(description="95 % confidence band, upper bound")
    at_risk: int


class SurvivalCurve(BaseModel):
    key: str
    suppliers: int
    churned: int
    censored: int
    median_months: float | None = Field(description="null while survival stays above 50 %")
    points: list[SurvivalPoint]


class SurvivalReport(BaseModel):
    by: SegmentBy
    as_of: date
    signed_up_from: date | None
    signed_up_to: date | None
    definition: str
    logrank_p_value: float | None = Field(
        description="Log-rank test that every segment's curve is the same; null for one segment"
    )
    curves: list[SurvivalCurve]


class SbgFit(BaseModel):
    """Shifted-beta-geometric (Fader & Hardie, 2007) fit on monthly renewals."""

    alpha: float
    beta: float
    suppliers: int
    converged: bool
    expected_lifetime_months: float = Field(
        description="A new supplier's expected lifetime, in months, capped at horizon_months"
    )
    mean_remaining_months: float | None = Field(
        description="Mean expected remaining lifetime of the segment's active suppliers"
    )


class LtvSegment(BaseModel):
    key: str
    supplier_months: int = Field(description="Sum over the window's months of active_at_start")
    churned: int
    monthly_logo_churn: float | None
    arpa_minor: int | None = Field(description="Average MRR per account, reporting minor units")
    ltv_minor: int | None = Field(
        description="Formula LTV = ARPA x gross margin / monthly logo churn; null without churn"
    )
    sbg: SbgFit | None = Field(description="Model-based lifetime; null with too little data")
    sbg_ltv_minor: int | None = Field(
        description="Model LTV = ARPA x gross margin x the sBG expected lifetime (capped)"
    )


class SupplierLifetime(BaseModel):
    supplier_id: str
    key: str
    tenure_months: int = Field(description="Monthly renewals so far")
    mrr_minor: int
    expected_remaining_months: float = Field(
        description="sBG expected remaining lifetime given its renewals, capped at the horizon"
    )
    expected_remaining_value_minor: int = Field(
        description="mrr_minor x gross margin x expected_remaining_months"
    )


class LtvReport(BaseModel):
    by: SegmentBy
    window_from: date = Field(description="First month of the churn/ARPA window")
    window_to: date = Field(description="Last month of the window")
    months: int = Field(description="Complete months of the window used")
    as_of: date
    gross_margin: float = Field(description="The configured gross margin (WEDSYNC_GROSS_MARGIN)")
    horizon_months: int
    reporting: StatedRates
    definition: str
    segments: list[LtvSegment]
    suppliers: list[SupplierLifetime] = Field(
        description="Active suppliers with the largest expected remaining value (supplier_limit)"
    )


class BreakdownRow(BaseModel):
    key: str
    active_at_start: int
    churned: int
    churn_rate: float | None = Field(description="churned / active_at_start")
    monthly_churn_rate: float | None = Field(
        description="The rate scaled to a 30.4375-day month: 1 - (1 - rate)^(30.4375 / days)"
    )
    share_of_churned: float | None
    churned_mrr_minor: int
    mrr_at_start_minor: int


class ChurnBreakdown(BaseModel):
    by: BreakdownBy
    window_from: date
    window_to: date = Field(description="Last day of the window (included)")
    days: int
    reporting: StatedRates
    definition: str
    total: BreakdownRow
    rows: list[BreakdownRow]
