"""POST /events: batch ingestion of product activity."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from wedsync_success.activity.schemas import EventIn, IngestResult
from wedsync_success.pipeline import ingest
from wedsync_success.web.body import batch_items, read_json
from wedsync_success.web.deps import (
    API_PREFIX,
    ContextDep,
    IngestKey,
    UnitOfWorkDep,
)
from wedsync_success.web.openapi import WRITE, error_responses, json_body

router = APIRouter(prefix=API_PREFIX, tags=["activity"])

_EXAMPLE = {
    "events": [
        {
            "event_id": "evt-2026-11-24-0001",
            "supplier_id": "9a0c3d1e-5b7f-4a57-9f0e-2a3b4c5d6e7f",
            "type": "client_added",
            "occurred_at": "2026-11-24T10:15:00Z",
            "properties": {"source": "enquiry_form"},
        }
    ]
}


class EventBatchIn(BaseModel):
    """A batch of events, wrapped; a bare JSON array of events is read the same way."""

    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(
        description="Up to WEDSYNC_MAX_BATCH_SIZE (default 5,000) events; each is validated "
        "on its own, and an invalid one is reported in `errors` while the rest are stored"
    )


@router.post(
    "/events",
    response_model=IngestResult,
    summary="Ingest a batch of activity events",
    openapi_extra=json_body(
        EventBatchIn | list[EventIn],
        description='{"events": [...]} or a bare array of events',
        example=_EXAMPLE,
    ),
    responses=error_responses(*WRITE),
)
async def post_events(
    request: Request, ctx: ContextDep, uow: UnitOfWorkDep, _key: IngestKey
) -> IngestResult:
    """Store up to 5,000 events. Duplicates (by `event_id`) are recognised and never counted
    twice; invalid items are reported by index, field and reason while the rest are stored.
    A busy server queues batches in arrival order (503 with `Retry-After` after a long wait)."""
    payload = await read_json(request, limit=ctx.settings.max_body_bytes)
    items = batch_items(payload, key="events", bare_list=True)
    return await uow.run(lambda session: ingest(session=session, ctx=ctx, items=items))
