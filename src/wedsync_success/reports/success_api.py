"""GET /reports/roi and /reports/model-accuracy: what the programme and the model achieved."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from wedsync_success.reports.accuracy import model_accuracy
from wedsync_success.reports.accuracy_schemas import ModelAccuracyReport
from wedsync_success.reports.roi import holdouts_of, roi_report
from wedsync_success.reports.roi_schemas import RoiReport
from wedsync_success.web.deps import API_PREFIX, ContextDep, ReadKey, SessionDep
from wedsync_success.web.openapi import READ, error_responses
from wedsync_success.web.params import Day

router = APIRouter(prefix=API_PREFIX, tags=["reports"])

FromDay = Annotated[Day, Query(alias="from", description="First day of the window, YYYY-MM-DD")]
ToDay = Annotated[
    Day, Query(description="The day after the window (exclusive): the window is [from, to)")
]


@router.get(
    "/reports/roi",
    response_model=RoiReport,
    summary="The return on customer success, per playbook and in total",
    responses=error_responses(*READ),
)
async def get_roi(
    ctx: ContextDep, session: SessionDep, _key: ReadKey, from_: FromDay, to: ToDay
) -> RoiReport:
    """For the runs enrolled in [from, to): each playbook's treated and control arms, their
    retention at the window's end, the retained MRR attributable to treatment (uplift x
    treated MRR, with a 95 % Newcombe interval), the programme's cost from
    WEDSYNC_PROGRAMME_COSTS_CONFIG and the ROI = (incremental revenue - cost) / cost.

    A playbook without a control arm says its effect cannot be measured; the total sums the
    measurable playbooks only and lists the others. `to` must not be after today.
    """
    return await roi_report(
        session=session,
        start=from_,
        end=to,
        as_of=ctx.clock(),
        holdouts=holdouts_of(ctx.interventions.catalog),
        costs=ctx.programme_costs,
        rates=ctx.settings.rates,
    )


@router.get(
    "/reports/model-accuracy",
    response_model=ModelAccuracyReport,
    summary="The churn model's accuracy on real outcomes, by month",
    responses=error_responses(*READ),
)
async def get_model_accuracy(
    ctx: ContextDep, session: SessionDep, _key: ReadKey, from_: FromDay, to: ToDay
) -> ModelAccuracyReport:
    """For predictions made in [from, to) whose horizon has ended: ROC-AUC, PR-AUC, Brier,
    expected calibration error, accuracy at 0.5 and the calibration bins, per month and
    model version, beside the claimed "> 85 % accuracy"."""
    return await model_accuracy(session=session, start=from_, end=to, as_of=ctx.clock())
