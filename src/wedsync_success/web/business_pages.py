"""The Business page (churn, MRR, retention, cohorts, survival, NPS, ROI) and its printable
monthly report, for every member of the team."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from wedsync_success.context import AppContext
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.reports.business import (
    TREND_MONTHS,
    BusinessPack,
    check_window,
    last_complete_month,
    parse_month,
)
from wedsync_success.reports.business_cache import PackKey
from wedsync_success.reports.history_schemas import SegmentBy
from wedsync_success.web.business_view import view_of
from wedsync_success.web.deps import ContextDep
from wedsync_success.web.monthly_report import render_monthly
from wedsync_success.web.rendering import render
from wedsync_success.web.session import CurrentUser

router = APIRouter(include_in_schema=False)


def _segment(value: str | None) -> SegmentBy:
    if value is None:
        return SegmentBy.VENDOR_TYPE
    try:
        return SegmentBy(value)
    except ValueError:
        choices = ", ".join(s.value for s in SegmentBy)
        reason = f"must be one of {choices}"
        raise ValidationFailed(
            f"by {reason}", details=[{"field": "by", "reason": reason}]
        ) from None


async def pack_for(
    ctx: AppContext, *, month: str | None, months: int, by: str | None, fresh: bool = False
) -> BusinessPack:
    """The reports for the asked month (the last complete one by default): from the
    context's cache for a page, gathered anew (``fresh``) for a report to keep."""
    today = ctx.clock().date()
    key = PackKey(
        month=parse_month(month) if month else last_complete_month(today),
        months=months,
        segment=_segment(by),
    )
    check_window(month=key.month, months=key.months, today=today)
    if fresh:
        return await ctx.business.gather(key)
    return await ctx.business.get(key)


@router.get("/business", response_class=HTMLResponse)
async def business_page(
    request: Request,
    ctx: ContextDep,
    user: CurrentUser,
    month: str | None = None,
    months: int = TREND_MONTHS,
    by: str | None = None,
) -> Response:
    pack = await pack_for(ctx, month=month, months=months, by=by)
    return render(
        request,
        "business.html",
        user=user,
        page="business",
        pack=pack,
        view=view_of(pack),
        months=months,
        segments=list(SegmentBy),
        latest_month=ctx.clock().date().strftime("%Y-%m"),
    )


@router.get("/business/monthly.html", response_class=HTMLResponse)
async def monthly_report_page(
    ctx: ContextDep,
    _user: CurrentUser,
    month: str | None = None,
    months: int = TREND_MONTHS,
    by: str | None = None,
) -> Response:
    """The self-contained monthly report, as ``report monthly --out`` writes it."""
    pack = await pack_for(ctx, month=month, months=months, by=by)
    html = render_monthly(pack, months=months, generated_at=ctx.clock())
    name = f"wedsync-success-{pack.month.strftime('%Y-%m')}.html"
    return HTMLResponse(html, headers={"Content-Disposition": f'inline; filename="{name}"'})
