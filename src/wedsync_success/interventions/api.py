"""Routes of the interventions domain: playbooks, the outreach log, one-off messages, tasks."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.interventions import service
from wedsync_success.interventions.channels.base import Channel
from wedsync_success.interventions.models import DeliveryStatus
from wedsync_success.interventions.one_off import queue_one_off
from wedsync_success.interventions.repository import InterventionFilters, TaskFilters
from wedsync_success.interventions.results import playbook_results
from wedsync_success.interventions.results_schemas import PlaybookResults
from wedsync_success.interventions.schemas import (
    InterventionOut,
    InterventionPage,
    OneOffMessageIn,
    OneOffMessageOut,
    PlaybookOut,
    TaskIn,
    TaskOut,
    TaskPage,
    TaskPatch,
    TaskStatusName,
    TaskWriteOut,
)
from wedsync_success.kit.pagination import MAX_CURSOR_CHARS
from wedsync_success.web.body import read_json, validate_body
from wedsync_success.web.deps import (
    API_PREFIX,
    ActKey,
    ContextDep,
    ReadKey,
    SessionDep,
    SupplierIdDep,
    UnitOfWorkDep,
)
from wedsync_success.web.openapi import READ, WRITE, error_responses, json_body

router = APIRouter(prefix=API_PREFIX, tags=["interventions"])

Cursor = Annotated[
    str | None, Query(max_length=MAX_CURSOR_CHARS, description="next_cursor of the previous page")
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        pattern=r"^[!-~]+$",
        description="Send the same key to retry safely: the message goes out once",
    ),
]


@router.get(
    "/playbooks",
    response_model=list[PlaybookOut],
    summary="Configured playbooks",
    responses=error_responses(*READ),
)
async def get_playbooks(ctx: ContextDep, session: SessionDep, _key: ReadKey) -> list[PlaybookOut]:
    """Each playbook's trigger, steps, goal, holdout, and how many runs it has."""
    return await service.list_playbooks(session=session, catalog=ctx.interventions.catalog)


@router.get(
    "/playbooks/{key}/results",
    response_model=PlaybookResults,
    summary="A playbook's results: treated against control",
    responses=error_responses(*READ, 404),
)
async def get_playbook_results(
    key: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,63}$")],
    ctx: ContextDep,
    session: SessionDep,
    _key: ReadKey,
) -> PlaybookResults:
    """Enrolled, treated and control; the treated funnel (sent → delivered → opened →
    clicked → goal reached); goal rates; retention at 30/60/90 days per arm with the uplift
    and its 95 % interval (Newcombe), save rates and MRR retained, per currency."""
    service.playbook_or_404(ctx.interventions.catalog, key)
    return await playbook_results(session=session, playbook_key=key, as_of=ctx.clock())


@router.get(
    "/interventions",
    response_model=InterventionPage,
    summary="Every message and task decision, newest first",
    responses=error_responses(*READ),
)
async def get_interventions(
    session: SessionDep,
    _key: ReadKey,
    supplier_id: uuid.UUID | None = None,
    playbook: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{1,63}$")] = None,
    status: DeliveryStatus | None = None,
    channel: Channel | None = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> InterventionPage:
    """Sent, capped, held, skipped, unsubscribed, suppressed (control) and failed alike."""
    filters = InterventionFilters(
        supplier_id=supplier_id,
        playbook=playbook,
        status=status.value if status else None,
        channel=channel.value if channel else None,
    )
    return await service.list_interventions(
        session=session, filters=filters, cursor=cursor, limit=limit
    )


@router.post(
    "/suppliers/{supplier_id}/messages",
    response_model=OneOffMessageOut,
    status_code=202,
    summary="Send a supplier a one-off message",
    openapi_extra=json_body(
        OneOffMessageIn,
        description="channel, subject, body",
        example={
            "channel": "email",
            "subject": "Your spring bookings",
            "body": "Hi! I noticed your enquiry form has had a quiet month…",
        },
    ),
    responses={
        200: {
            "model": OneOffMessageOut,
            "description": "This Idempotency-Key was used before: the message it queued",
        },
        **error_responses(*WRITE, 404),
    },
)
async def post_message(
    _key: ActKey,
    supplier_id: SupplierIdDep,
    request: Request,
    ctx: ContextDep,
    uow: UnitOfWorkDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Queued at once and delivered by the worker, through preferences, the frequency cap
    (marketing only) and quiet hours; the answer's `intervention.status` says where it is."""
    body = validate_body(
        OneOffMessageIn, await read_json(request, limit=ctx.settings.max_body_bytes)
    )
    now = ctx.clock()

    async def work(session: AsyncSession) -> OneOffMessageOut:
        row, created = await queue_one_off(
            session=session,
            supplier_id=supplier_id,
            supplier_user_id=body.supplier_user_id,
            channel=Channel(body.channel),
            category=body.category,
            subject=body.subject,
            body=body.body,
            idempotency_key=idempotency_key or str(uuid.uuid4()),
            sent_by=None,
            now=now,
        )
        return OneOffMessageOut(intervention=InterventionOut.model_validate(row), created=created)

    result = await uow.run(work)
    ctx.interventions.wake_worker()
    return JSONResponse(result.model_dump(mode="json"), status_code=202 if result.created else 200)


@router.get(
    "/tasks",
    response_model=TaskPage,
    summary="The success team's tasks, soonest due first",
    responses=error_responses(*READ),
)
async def get_tasks(
    session: SessionDep,
    _key: ReadKey,
    status: TaskStatusName | None = "open",
    owner_id: uuid.UUID | None = None,
    supplier_id: uuid.UUID | None = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TaskPage:
    filters = TaskFilters(status=status, owner_id=owner_id, supplier_id=supplier_id)
    return await service.list_tasks(session=session, filters=filters, cursor=cursor, limit=limit)


@router.post(
    "/tasks",
    response_model=TaskWriteOut,
    summary="Open a task (or update the open one for the same supplier and reason)",
    openapi_extra=json_body(TaskIn, description="supplier_id, reason, title, due_on"),
    responses=error_responses(*WRITE),
)
async def post_task(
    request: Request, ctx: ContextDep, uow: UnitOfWorkDep, _key: ActKey
) -> TaskWriteOut:
    body = validate_body(TaskIn, await read_json(request, limit=ctx.settings.max_body_bytes))
    now = ctx.clock()
    return await uow.run(lambda session: service.create_task(session=session, body=body, now=now))


@router.patch(
    "/tasks/{task_id}",
    response_model=TaskOut,
    summary="Close, reassign, reschedule or snooze a task",
    openapi_extra=json_body(
        TaskPatch,
        description="any of status, priority, due_on, owner_id, detail, and snooze_days or "
        "snoozed_until (null wakes the task)",
        example={"snooze_days": 3},
    ),
    responses=error_responses(*WRITE, 404),
)
async def patch_task(
    task_id: uuid.UUID, request: Request, ctx: ContextDep, uow: UnitOfWorkDep, _key: ActKey
) -> TaskOut:
    patch = validate_body(TaskPatch, await read_json(request, limit=ctx.settings.max_body_bytes))
    now = ctx.clock()
    return await uow.run(
        lambda session: service.update_task(session=session, task_id=task_id, patch=patch, now=now)
    )
