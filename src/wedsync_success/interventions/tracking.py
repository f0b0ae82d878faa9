"""Opens and clicks of sent messages, recorded once each as outcomes and success events.

The first open sets ``opened_at`` and emits ``intervention.opened``; the first click sets
``clicked_at`` and emits ``intervention.clicked``, and counts as an open too when none was
seen (images blocked), so the funnel never shows more clicks than opens. Later opens and
clicks change nothing. The events go into the outbox in the caller's transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEventType
from wedsync_success.interventions import tracking_repository as repository
from wedsync_success.interventions.tracking_repository import Marked


def _event(kind: SuccessEventType, marked: Marked, now: datetime, **extra: str) -> NewEvent:
    return NewEvent(
        event_type=kind,
        supplier_id=marked.supplier_id,
        occurred_at=now,
        payload={
            "intervention_id": str(marked.id),
            "run_id": str(marked.run_id) if marked.run_id else None,
            "step_no": marked.step_no,
            "playbook_key": marked.playbook_key,
            "channel": marked.channel,
            "category": marked.category,
            **extra,
        },
    )


async def record_open(*, session: AsyncSession, intervention_id: uuid.UUID, now: datetime) -> bool:
    """Record the first open of a message; True when this call recorded it."""
    marked = await repository.mark_opened(session, intervention_id=intervention_id, now=now)
    if marked is None:
        return False
    await enqueue(
        session=session, events=[_event(SuccessEventType.INTERVENTION_OPENED, marked, now)], now=now
    )
    return True


async def record_click(
    *, session: AsyncSession, intervention_id: uuid.UUID, target: str, now: datetime
) -> bool:
    """Record the first click of a message (and its open, if none was seen); True when this
    call recorded the click."""
    await record_open(session=session, intervention_id=intervention_id, now=now)
    marked = await repository.mark_clicked(session, intervention_id=intervention_id, now=now)
    if marked is None:
        return False
    event = _event(SuccessEventType.INTERVENTION_CLICKED, marked, now, url=target)
    await enqueue(session=session, events=[event], now=now)
    return True
