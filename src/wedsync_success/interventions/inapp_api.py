"""In-app routes for the suppliers' WedSync app (API key scope ``inapp``): pull a supplier
user's messages by cursor, and report what the user did with one."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.interventions import inapp
from wedsync_success.interventions.inapp_schemas import (
    MAX_PAGE,
    InAppAction,
    InAppMessageOut,
    InAppPage,
    MarkIn,
)
from wedsync_success.kit.limits import BIGINT_MAX
from wedsync_success.web.body import read_json, validate_body
from wedsync_success.web.deps import API_PREFIX, ContextDep, InAppKey, SessionDep, UnitOfWorkDep
from wedsync_success.web.openapi import READ, WRITE, error_responses, json_body

router = APIRouter(prefix=API_PREFIX, tags=["in-app"])

Cursor = Annotated[
    int | None,
    Query(ge=0, le=BIGINT_MAX, description="`next_cursor` of the previous pull; omit at first"),
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
MessageId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]


@router.get(
    "/inapp/users/{supplier_user_id}/messages",
    response_model=InAppPage,
    summary="A supplier user's in-app messages after a cursor",
    responses=error_responses(*READ),
)
async def get_messages(
    supplier_user_id: uuid.UUID,
    session: SessionDep,
    _key: InAppKey,
    after: Cursor = None,
    limit: Limit = 50,
) -> InAppPage:
    """Coaching messages and milestone celebrations not dismissed, oldest first. New messages
    always come after the cursor, so a device that keeps `next_cursor` misses none."""
    return await inapp.messages_for(
        session=session, supplier_user_id=supplier_user_id, after=after, limit=limit
    )


@router.post(
    "/inapp/messages/{message_id}/{action}",
    response_model=InAppMessageOut,
    summary="Record that the user saw, clicked or dismissed a message",
    openapi_extra=json_body(MarkIn, description='{"supplier_user_id": "..."}'),
    responses=error_responses(*WRITE, 404),
)
async def post_mark(
    message_id: MessageId,
    action: InAppAction,
    request: Request,
    ctx: ContextDep,
    uow: UnitOfWorkDep,
    _key: InAppKey,
) -> InAppMessageOut:
    """Idempotent: repeating a mark changes nothing. The first `seen` (or `clicked`) records
    the intervention as opened, the first `clicked` as clicked, each with its success event."""
    body = validate_body(MarkIn, await read_json(request, limit=ctx.settings.max_body_bytes))
    now = ctx.clock()

    async def work(session: AsyncSession) -> InAppMessageOut:
        return await inapp.mark(
            session=session,
            message_id=message_id,
            supplier_user_id=body.supplier_user_id,
            action=action,
            now=now,
        )

    return await uow.run(work)
