"""The surveys API: responses in (batch, idempotent), asking a supplier's user, answering in
the app, and the NPS and CSAT reports."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.interventions import inapp, inapp_repository
from wedsync_success.interventions.channels.base import Category
from wedsync_success.interventions.inapp_schemas import InAppAction
from wedsync_success.kit.errors import NotFound
from wedsync_success.kit.limits import BIGINT_MAX
from wedsync_success.reports.windows import ReportPeriod
from wedsync_success.surveys import metrics, service
from wedsync_success.surveys.kinds import SurveyKind
from wedsync_success.surveys.schemas import (
    CsatReport,
    InAppAnswerIn,
    NpsReport,
    ResponseOut,
    ResponseSource,
    ResponsesResult,
    Segment,
    SendSurveyIn,
    SurveyResponseIn,
    SurveySentOut,
)
from wedsync_success.web.body import batch_items, read_json, validate_body
from wedsync_success.web.deps import (
    API_PREFIX,
    ActKey,
    ContextDep,
    InAppKey,
    IngestKey,
    ReadKey,
    SessionDep,
    SupplierIdDep,
    UnitOfWorkDep,
)
from wedsync_success.web.openapi import READ, WRITE, error_responses, json_body
from wedsync_success.web.params import Day

router = APIRouter(prefix=API_PREFIX, tags=["surveys"])

_EXAMPLE = {
    "responses": [
        {
            "response_id": "typeform-8c1d2e",
            "kind": "nps",
            "score": 9,
            "comment": "The client portal saves me hours every week",
            "supplier_external_id": "cus_Nffrfe6Q3x",
            "responded_at": "2026-11-24T10:15:00Z",
        }
    ]
}


class ResponseBatchIn(BaseModel):
    """A batch of responses, wrapped; a bare JSON array of responses is read the same way."""

    model_config = ConfigDict(extra="forbid")

    responses: list[SurveyResponseIn] = Field(
        description="Up to WEDSYNC_MAX_BATCH_SIZE (default 5,000) responses; each is validated "
        "on its own, and an invalid one is reported in `errors` while the rest are stored"
    )


@router.post(
    "/surveys/responses",
    response_model=ResponsesResult,
    summary="Store a batch of NPS and CSAT responses",
    openapi_extra=json_body(
        ResponseBatchIn | list[SurveyResponseIn],
        description='{"responses": [...]} or a bare array of responses',
        example=_EXAMPLE,
    ),
    responses=error_responses(*WRITE),
)
async def post_responses(
    request: Request, ctx: ContextDep, uow: UnitOfWorkDep, _key: IngestKey
) -> ResponsesResult:
    """Each response is validated on its own (NPS scores 0-10, CSAT 1-5, a comment of at most
    2,000 characters without NUL, a supplier by id or external id, a user of that supplier);
    a bad one is reported by index, field and reason while the rest are stored. A
    `response_id` already stored is a duplicate and changes nothing. A detractor (NPS 0-6) or
    a low CSAT (1-2) becomes a `survey.detractor` / `survey.csat_low` success event."""
    payload = await read_json(request, limit=ctx.settings.max_body_bytes)
    items = batch_items(payload, key="responses", bare_list=True)
    now = ctx.clock()

    async def work(session: AsyncSession) -> ResponsesResult:
        return await service.record_responses(
            session=session,
            items=items,
            source=ResponseSource.API,
            max_batch_size=ctx.settings.max_batch_size,
            now=now,
        )

    return await uow.run(work)


@router.get(
    "/surveys/responses",
    response_model=list[ResponseOut],
    summary="Survey responses, newest first",
    responses=error_responses(*READ),
)
async def get_responses(
    session: SessionDep,
    _key: ReadKey,
    kind: SurveyKind | None = None,
    supplier_id: uuid.UUID | None = None,
    from_: Annotated[Day | None, Query(alias="from", description="First day (UTC)")] = None,
    to: Annotated[Day | None, Query(description="Day after the last (exclusive)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ResponseOut]:
    return await service.list_responses(
        session=session,
        kind=kind,
        supplier_id=supplier_id,
        start=_instant(from_),
        end=_instant(to),
        limit=limit,
    )


def _instant(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=UTC)


@router.post(
    "/suppliers/{supplier_id}/surveys",
    response_model=SurveySentOut,
    summary="Ask one of the supplier's users an NPS or CSAT survey",
    openapi_extra=json_body(SendSurveyIn, description='{"kind": "nps", "channel": "email"}'),
    responses={
        **error_responses(*WRITE, 404),
        200: {"model": SurveySentOut, "description": "Not asked: asked the same kind recently"},
        202: {"model": SurveySentOut, "description": "Queued for delivery"},
    },
)
async def post_survey(
    _key: ActKey, supplier_id: SupplierIdDep, request: Request, ctx: ContextDep, uow: UnitOfWorkDep
) -> JSONResponse:
    """Queued (202) and delivered by the interventions' worker through preferences, the
    frequency cap and quiet hours, like any message; a user asked the same kind within
    WEDSYNC_SURVEY_NPS_INTERVAL_DAYS / WEDSYNC_SURVEY_CSAT_INTERVAL_DAYS is not asked again
    (200, `outcome: asked_recently`)."""
    body = validate_body(SendSurveyIn, await read_json(request, limit=ctx.settings.max_body_bytes))
    now = ctx.clock()

    async def work(session: AsyncSession) -> SurveySentOut:
        return await service.send_survey(
            session=session,
            supplier_id=supplier_id,
            body=body,
            intervals=service.intervals_of(ctx.settings),
            category=Category.MARKETING,
            sent_by=None,
            now=now,
        )

    result = await uow.run(work)
    ctx.interventions.wake_worker()
    status = 202 if result.survey_id else 200
    return JSONResponse(result.model_dump(mode="json"), status_code=status)


MessageId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]


@router.post(
    "/surveys/inapp/{message_id}/answer",
    response_model=ResponseOut,
    tags=["in-app"],
    summary="Record the score a user picked in a survey's in-app message",
    openapi_extra=json_body(InAppAnswerIn, description='{"supplier_user_id": "...", "score": 9}'),
    responses=error_responses(*WRITE, 404),
)
async def post_inapp_answer(
    message_id: MessageId, request: Request, ctx: ContextDep, uow: UnitOfWorkDep, _key: InAppKey
) -> ResponseOut:
    """The first answer counts (a second, from another device, changes nothing but may add a
    comment); answering also records the message as seen and clicked."""
    body = validate_body(InAppAnswerIn, await read_json(request, limit=ctx.settings.max_body_bytes))
    now = ctx.clock()

    async def work(session: AsyncSession) -> ResponseOut:
        message = await inapp_repository.get(session, message_id)
        if message is None or message.supplier_user_id != body.supplier_user_id:
            raise NotFound(f"No in-app message {message_id} for this user")
        answered = await service.answer_survey(
            session=session,
            intervention_id=message.intervention_id,
            score=body.score,
            comment=body.comment,
            source=ResponseSource.IN_APP,
            supplier_user_id=body.supplier_user_id,
            now=now,
        )
        await inapp.mark(
            session=session,
            message_id=message_id,
            supplier_user_id=body.supplier_user_id,
            action=InAppAction.CLICKED,
            now=now,
        )
        return ResponseOut.model_validate(answered.response)

    return await uow.run(work)


ReportFrom = Annotated[Day, Query(alias="from", description="First day (UTC)")]
ReportTo = Annotated[Day, Query(description="Day after the last (exclusive)")]


@router.get(
    "/reports/nps",
    response_model=NpsReport,
    tags=["reports"],
    summary="Net Promoter Score over time and by segment",
    responses=error_responses(*READ),
)
async def get_nps(
    session: SessionDep,
    _key: ReadKey,
    from_: ReportFrom,
    to: ReportTo,
    period: ReportPeriod = ReportPeriod.MONTH,
    by: Segment = Segment.NONE,
) -> NpsReport:
    """NPS = % promoters (9-10) - % detractors (0-6), per calendar month or ISO week of
    `[from, to)` (UTC), with the counts behind it; `by` breaks each period down by the
    supplier's vendor type, plan or country."""
    return await metrics.nps_report(session=session, start=from_, end=to, period=period, by=by)


@router.get(
    "/reports/csat",
    response_model=CsatReport,
    tags=["reports"],
    summary="Customer satisfaction (CSAT) over time and by segment",
    responses=error_responses(*READ),
)
async def get_csat(
    session: SessionDep,
    _key: ReadKey,
    from_: ReportFrom,
    to: ReportTo,
    period: ReportPeriod = ReportPeriod.MONTH,
    by: Segment = Segment.NONE,
) -> CsatReport:
    """CSAT = the share of responses scoring 4-5 of 5, in percent, per calendar month or ISO
    week of `[from, to)` (UTC), with the counts behind it, optionally by segment."""
    return await metrics.csat_report(session=session, start=from_, end=to, period=period, by=by)
