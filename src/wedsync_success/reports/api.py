"""GET /reports/overview (the numbers on the dashboard's overview page) and
GET /reports/retention (logo and MRR movements for any window, from history)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from wedsync_success.reports.attribution import MAX_WINDOW_DAYS, attribution_report, check_request
from wedsync_success.reports.attribution_schemas import AttributionReport, CreditModel
from wedsync_success.reports.overview import overview
from wedsync_success.reports.retention import retention_report
from wedsync_success.reports.schemas import Overview, RetentionReport
from wedsync_success.reports.windows import MAX_PERIODS, ReportPeriod
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


RETENTION = (
    "For each period `[start, end)` of `[from, to)`: suppliers active at its start, churned, "
    "new, reactivated and active at its end; MRR at start, new, expansion, contraction, "
    "churned, reactivation and at end, per currency and in the reporting currency (with the "
    "rates used); MRR churn, GRR, NRR, and logo churn as a month's and annualised. Computed "
    "from subscription history (`docs/reports.md`), never from the current state; at most "
    f"{MAX_PERIODS} periods. Refused with 422 naming the field: `to` not after `from`, too "
    "many periods, a `currency` without a rate."
)


@router.get(
    "/reports/retention",
    response_model=RetentionReport,
    summary="Retention and MRR movements per period",
    description=RETENTION,
    responses=error_responses(*READ),
)
async def get_retention(
    ctx: ContextDep,
    session: SessionDep,
    _key: ReadKey,
    start: Annotated[Day, Query(alias="from", description="First day of the report")],
    end: Annotated[Day, Query(alias="to", description="First day after the report")],
    period: Annotated[
        ReportPeriod, Query(description="Length of each period, stepped from `from`")
    ] = ReportPeriod.MONTH,
    currency: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Z]{3}$",
            description="Reporting currency (default WEDSYNC_REPORTING_CURRENCY); it needs a "
            "rate in WEDSYNC_FX_RATES",
        ),
    ] = None,
) -> RetentionReport:
    """Logo and MRR movements for each period of a window (described above)."""
    return await retention_report(
        session=session,
        start=start,
        end=end,
        period=period,
        rates=ctx.settings.rates,
        currency=currency,
    )


ATTRIBUTION = (
    "For each conversion in `[from, to)` (an **upgrade**: a subscription period continuing "
    "the previous one at a higher net MRR; a **renewal**: one starting at or after the "
    "previous one's end; a **referral converted** event), the success events and "
    "interventions of its supplier in the `window_days` days before it, and the credit each "
    "touch type earned under first-touch, last-touch and linear models (`model` picks one; "
    "default all three). Control-arm interventions are never credited. Default window: the "
    "90 days through today. Refused with 422 naming the field: `to` not after `from`, a "
    "window over 20 years, `window_days` out of range, an unknown `model`."
)


@router.get(
    "/reports/attribution",
    response_model=AttributionReport,
    summary="Success attribution: what preceded upgrades, renewals and referrals",
    description=ATTRIBUTION,
    responses=error_responses(*READ),
)
async def get_attribution(
    ctx: ContextDep,
    session: SessionDep,
    _key: ReadKey,
    from_: Annotated[
        Day | None, Query(alias="from", description="First day of the conversions")
    ] = None,
    to: Annotated[Day | None, Query(description="The day after the last one")] = None,
    window_days: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_WINDOW_DAYS,
            description="Days before a conversion a touch still counts; default "
            "WEDSYNC_ATTRIBUTION_WINDOW_DAYS (30)",
        ),
    ] = None,
    model: Annotated[
        CreditModel | None, Query(description="One credit model; default all three")
    ] = None,
) -> AttributionReport:
    """Which success events and interventions preceded each conversion (described above)."""
    days = ctx.settings.attribution_window_days if window_days is None else window_days
    start, end = check_request(
        given_from=from_, given_to=to, window_days=days, today=ctx.clock().date()
    )
    return await attribution_report(
        session=session,
        start=start,
        end=end,
        window_days=days,
        models=[model] if model else list(CreditModel),
        rates=ctx.settings.rates,
    )
