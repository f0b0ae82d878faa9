"""The marketing integration's state for admins: is it on, what is queued, what failed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from wedsync_success.integrations.marketing import service
from wedsync_success.integrations.marketing.models import MessageState
from wedsync_success.integrations.marketing.schemas import (
    MarketingStatus,
    MessagePage,
    MessageStateName,
)
from wedsync_success.web.deps import API_PREFIX, AdminKey, ContextDep, SessionDep
from wedsync_success.web.openapi import READ, error_responses

router = APIRouter(prefix=f"{API_PREFIX}/marketing", tags=["marketing"])


@router.get(
    "/status",
    response_model=MarketingStatus,
    summary="Marketing sync: collector, messages by state, campaigns",
    responses=error_responses(*READ),
)
async def status(session: SessionDep, ctx: ContextDep, _key: AdminKey) -> MarketingStatus:
    return await service.read_status(
        session=session, policy=ctx.marketing.policy, campaigns=ctx.marketing.campaigns
    )


@router.get(
    "/messages",
    response_model=MessagePage,
    summary="Marketing messages, newest first",
    responses=error_responses(*READ),
)
async def list_messages(
    session: SessionDep,
    _key: AdminKey,
    status: Annotated[MessageStateName | None, Query(description="Only this state")] = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**62, description="Page cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> MessagePage:
    """A failed message's ``last_error`` carries the collector's answer (its start)."""
    return await service.list_messages(
        session=session,
        state=MessageState(status) if status else None,
        before_id=before_id,
        limit=limit,
    )
