"""POST /events: batch ingestion of product activity."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request

from wedsync_success.activity.schemas import IngestResult
from wedsync_success.kit.errors import PayloadTooLarge, ValidationFailed
from wedsync_success.pipeline import ingest
from wedsync_success.web.deps import API_PREFIX, ContextDep, IngestKey, UnitOfWorkDep

router = APIRouter(prefix=API_PREFIX, tags=["activity"])

MAX_BODY_BYTES = 8 * 1024 * 1024

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


def _items_of(body: bytes) -> list[Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            "The request body is not valid JSON",
            details=[{"field": "body", "reason": str(exc)}],
        ) from exc
    if isinstance(payload, dict) and isinstance(payload.get("events"), list):
        return list(payload["events"])
    if isinstance(payload, list):
        return payload
    raise ValidationFailed(
        'Send a JSON array of events or {"events": [...]}',
        details=[{"field": "events", "reason": "missing or not a list"}],
    )


@router.post(
    "/events",
    response_model=IngestResult,
    summary="Ingest a batch of activity events",
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"example": _EXAMPLE}},
            "required": True,
        }
    },
)
async def post_events(
    request: Request, ctx: ContextDep, uow: UnitOfWorkDep, _key: IngestKey
) -> IngestResult:
    """Store up to 5,000 events. Duplicates (by `event_id`) are recognised and never counted
    twice; invalid items are reported by index, field and reason while the rest are stored."""
    declared = int(request.headers.get("content-length") or 0)
    if declared > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The request body is larger than {MAX_BODY_BYTES} bytes")
    items = _items_of(await request.body())
    return await uow.run(lambda session: ingest(session=session, ctx=ctx, items=items))
