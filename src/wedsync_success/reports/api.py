"""GET /reports/overview: the numbers on the dashboard's overview page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from wedsync_success.reports.overview import overview
from wedsync_success.reports.schemas import Overview
from wedsync_success.web.deps import API_PREFIX, ContextDep, ReadKey, SessionDep
from wedsync_success.web.openapi import READ, error_responses
from wedsync_success.web.params import Day

router = APIRouter(prefix=API_PREFIX, tags=["reports"])


@router.get(
    "/reports/overview",
    response_model=Overview,
    summary="The success team's overview",
    responses=error_responses(*READ),
)
async def get_overview(
    ctx: ContextDep,
    session: SessionDep,
    _key: ReadKey,
    as_of: Annotated[Day | None, Query(description="Day to report as of; default today")] = None,
) -> Overview:
    """Active suppliers, churn this month and by month, risk levels, MRR at risk (per currency
    and in the reporting currency, with the rates used), milestones.

    Today's overview is at most WEDSYNC_OVERVIEW_MAX_AGE_SECONDS old (refreshed in the
    background); another day's is computed on request.
    """
    today = ctx.clock().date()
    if as_of is None or as_of == today:
        return await ctx.overviews.get(today)
    return await overview(session, as_of=as_of, rates=ctx.settings.rates, today=today)
