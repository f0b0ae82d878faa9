"""GET /reports/cohorts, /reports/survival, /reports/ltv and /reports/churn-breakdown: the
history reports, computed on request from subscription history (read scope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from wedsync_success.reports import history_requests
from wedsync_success.reports.cohorts import MAX_AGE
from wedsync_success.reports.history_schemas import (
    BreakdownBy,
    ChurnBreakdown,
    CohortBy,
    CohortMetric,
    CohortTable,
    LtvReport,
    SegmentBy,
    SurvivalReport,
)
from wedsync_success.web.deps import API_PREFIX, ContextDep, ReadKey, SessionDep
from wedsync_success.web.openapi import READ, error_responses
from wedsync_success.web.params import Day

router = APIRouter(prefix=API_PREFIX, tags=["reports"])

AsOf = Annotated[Day | None, Query(description="Report as of the end of this day; default today")]


@router.get(
    "/reports/cohorts",
    response_model=CohortTable,
    summary="Cohort retention by month of age",
    responses=error_responses(*READ),
)
async def get_cohorts(
    ctx: ContextDep,
    session: SessionDep,
    _key: ReadKey,
    from_: Annotated[
        Day | None,
        Query(alias="from", description="First signup day; default 12 months before as_of"),
    ] = None,
    to: Annotated[Day | None, Query(description="Last signup day; default as_of")] = None,
    by: Annotated[CohortBy, Query(description="Row of the table")] = CohortBy.SIGNUP_MONTH,
    metric: Annotated[
        CohortMetric, Query(description="Which retention each cell's value is")
    ] = CohortMetric.LOGO,
    max_age: Annotated[int, Query(ge=0, le=MAX_AGE, description="Months of age")] = 24,
    as_of: AsOf = None,
) -> CohortTable:
    """Suppliers grouped by signup month (or vendor type, plan, acquisition channel), their
    logo and revenue retention at each month of age, ready for a heat map."""
    return await history_requests.cohorts(
        session,
        settings=ctx.settings,
        as_of=as_of or ctx.clock().date(),
        signed_up_from=from_,
        signed_up_to=to,
        by=by,
        metric=metric,
        max_age=max_age,
    )


@router.get(
    "/reports/survival",
    response_model=SurvivalReport,
    summary="Kaplan-Meier survival curves per segment",
    responses=error_responses(*READ),
)
async def get_survival(
    ctx: ContextDep,
    session: SessionDep,
    _key: ReadKey,
    by: Annotated[SegmentBy, Query(description="One curve per segment")] = SegmentBy.ALL,
    from_: Annotated[
        Day | None, Query(alias="from", description="Only suppliers signed up on or after")
    ] = None,
    to: Annotated[Day | None, Query(description="Only suppliers signed up on or before")] = None,
    horizon_months: Annotated[int, Query(ge=1, le=MAX_AGE)] = 36,
    as_of: AsOf = None,
) -> SurvivalReport:
    """Share of suppliers still customers after each month, with 95 % bands and censoring,
    and a log-rank test across segments."""
    return await history_requests.survival(
        session,
        settings=ctx.settings,
        as_of=as_of or ctx.clock().date(),
        by=by,
        signed_up_from=from_,
        signed_up_to=to,
        horizon_months=horizon_months,
    )


@router.get(
    "/reports/ltv",
    response_model=LtvReport,
    summary="Lifetime value per segment: the formula and an sBG model",
    responses=error_responses(*READ),
)
async def get_ltv(
    ctx: ContextDep,
    session: SessionDep,
    _key: ReadKey,
    by: Annotated[SegmentBy, Query()] = SegmentBy.ALL,
    from_: Annotated[
        Day | None,
        Query(alias="from", description="First month of the churn window; default 12 before"),
    ] = None,
    to: Annotated[
        Day | None, Query(description="Last month of the window; default the one before as_of")
    ] = None,
    supplier_limit: Annotated[
        int, Query(ge=0, le=500, description="Active suppliers listed, largest value first")
    ] = 0,
    as_of: AsOf = None,
) -> LtvReport:
    """ARPA x gross margin / monthly logo churn per segment (gross margin configured, stated),
    beside a shifted-beta-geometric model's expected lifetime."""
    return await history_requests.ltv(
        session,
        settings=ctx.settings,
        as_of=as_of or ctx.clock().date(),
        by=by,
        window_from=from_,
        window_to=to,
        supplier_limit=supplier_limit,
    )


@router.get(
    "/reports/churn-breakdown",
    response_model=ChurnBreakdown,
    summary="Churn in a window by reason, vendor type, plan, country or tenure",
    responses=error_responses(*READ),
)
async def get_churn_breakdown(
    ctx: ContextDep,
    session: SessionDep,
    _key: ReadKey,
    by: Annotated[BreakdownBy, Query()] = BreakdownBy.CANCELLATION_REASON,
    from_: Annotated[
        Day | None, Query(alias="from", description="First day; default 30 days before to")
    ] = None,
    to: Annotated[Day | None, Query(description="Last day (included); default today")] = None,
) -> ChurnBreakdown:
    """Suppliers active at the window's start who left by its end, per segment."""
    return await history_requests.breakdown(
        session,
        settings=ctx.settings,
        today=ctx.clock().date(),
        by=by,
        window_from=from_,
        window_to=to,
    )
