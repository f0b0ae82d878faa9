"""GET /success-events: the log of success events, newest first."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from wedsync_success.events import repository
from wedsync_success.events.types import SuccessEventType
from wedsync_success.web.deps import API_PREFIX, ReadKey, SessionDep
from wedsync_success.web.openapi import READ, error_responses
from wedsync_success.web.params import Sequence

router = APIRouter(prefix=API_PREFIX, tags=["events"])


class SuccessEventPage(BaseModel):
    items: list[dict[str, Any]]
    next_before: int | None


@router.get(
    "/success-events",
    response_model=SuccessEventPage,
    summary="Success event log",
    responses=error_responses(*READ),
)
async def get_success_events(
    session: SessionDep,
    _key: ReadKey,
    supplier_id: uuid.UUID | None = None,
    type: SuccessEventType | None = None,
    before: Annotated[
        Sequence | None, Query(description="next_before of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> SuccessEventPage:
    rows = await repository.recent(
        session,
        supplier_id=supplier_id,
        event_type=type.value if type else None,
        before_sequence=before,
        limit=limit,
    )
    items = [
        {
            "sequence": r.id,
            "event_id": str(r.event_id),
            "type": r.event_type,
            "supplier_id": str(r.supplier_id) if r.supplier_id else None,
            "occurred_at": r.occurred_at.isoformat(),
            "published": r.published_at is not None,
            "payload": r.payload,
        }
        for r in rows
    ]
    return SuccessEventPage(items=items, next_before=rows[-1].id if len(rows) == limit else None)
