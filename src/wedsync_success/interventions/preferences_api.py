"""A supplier user's contact preferences over the API (the app's own settings page uses it)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.interventions import preferences
from wedsync_success.interventions.channels.base import Channel
from wedsync_success.interventions.preference_schemas import Preferences, PreferenceUpdate
from wedsync_success.web.body import read_json, validate_body
from wedsync_success.web.deps import (
    API_PREFIX,
    ContextDep,
    IngestKey,
    ReadKey,
    SessionDep,
    UnitOfWorkDep,
)
from wedsync_success.web.openapi import READ, WRITE, error_responses, json_body

router = APIRouter(prefix=API_PREFIX, tags=["preferences"])


@router.get(
    "/supplier-users/{supplier_user_id}/preferences",
    response_model=Preferences,
    summary="A supplier user's contact preferences",
    responses=error_responses(*READ, 404),
)
async def get_preferences(
    supplier_user_id: uuid.UUID, session: SessionDep, _key: ReadKey
) -> Preferences:
    """Every channel and category; what was never chosen is subscribed."""
    return await preferences.preferences_for(session=session, supplier_user_id=supplier_user_id)


@router.put(
    "/supplier-users/{supplier_user_id}/preferences",
    response_model=Preferences,
    summary="Set a supplier user's contact preferences",
    openapi_extra=json_body(
        PreferenceUpdate,
        description="The choices to store; channels and categories not listed keep theirs. "
        "Transactional email and in-app messages cannot be refused; refusing transactional "
        "SMS (STOP) refuses every SMS.",
        example=[{"channel": "email", "category": "marketing", "subscribed": False}],
    ),
    responses=error_responses(*WRITE, 404),
)
async def put_preferences(
    supplier_user_id: uuid.UUID,
    request: Request,
    ctx: ContextDep,
    uow: UnitOfWorkDep,
    _key: IngestKey,
) -> Preferences:
    """Store the listed choices (idempotent) and answer with every preference."""
    payload = await read_json(request, limit=ctx.settings.max_body_bytes)
    update = validate_body(PreferenceUpdate, payload)
    now = ctx.clock()

    async def work(session: AsyncSession) -> Preferences:
        await preferences.set_preferences(
            session=session,
            supplier_user_id=supplier_user_id,
            choices=[(Channel(i.channel), i.category, i.subscribed) for i in update.root],
            source="api",
            now=now,
        )
        return await preferences.preferences_for(session=session, supplier_user_id=supplier_user_id)

    return await uow.run(work)
