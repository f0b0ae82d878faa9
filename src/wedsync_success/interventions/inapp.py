"""The in-app channel: messages waiting in a supplier user's WedSync app, pulled by cursor,
and what the user did with them (seen, clicked, dismissed), recorded once each.

Cursor order is commit order for one user: :func:`post_message` takes the supplier's write
lock before inserting (re-entrant, so the orchestrator holding it already costs nothing), so
two messages of one supplier are numbered and committed one after the other, and a pull
that has seen id N can never later miss a message numbered below N.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db.locks import lock_suppliers
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEventType
from wedsync_success.interventions import inapp_repository as repository
from wedsync_success.interventions.inapp_schemas import (
    MAX_PAGE,
    InAppAction,
    InAppMessageOut,
    InAppPage,
    MessageKind,
)
from wedsync_success.interventions.models import InAppMessage
from wedsync_success.kit.errors import NotFound, ValidationFailed
from wedsync_success.kit.limits import text_problem

CHANNEL = "inapp"
MAX_BODY_CHARS = 4000


@dataclass(frozen=True)
class _Field:
    name: str
    limit: int
    required: bool


_TITLE = _Field("title", 200, True)
_BODY = _Field("body", MAX_BODY_CHARS, True)
_CTA_LABEL = _Field("cta_label", 80, False)
_CTA_URL = _Field("cta_url", 500, False)


def _invalid(field: str, reason: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {reason}", details=[{"field": field, "reason": reason}])


def _checked_text(field: _Field, value: str | None) -> str | None:
    if value is None or not value.strip():
        if field.required:
            raise _invalid(field.name, "must not be empty")
        return None
    problem = text_problem(value)
    if problem:
        raise _invalid(field.name, problem)
    if len(value) > field.limit:
        raise _invalid(field.name, f"at most {field.limit} characters")
    return value


def safe_cta_url(url: str) -> bool:
    """An http(s) address or a path of the app itself: never ``javascript:`` or ``data:``."""
    if any(c.isspace() or ord(c) < 0x20 for c in url) or "\\" in url:
        return False
    parts = urlsplit(url)
    if parts.scheme:
        return parts.scheme in ("http", "https") and bool(parts.netloc)
    return url.startswith("/") and not url.startswith("//")


async def post_message(
    *,
    session: AsyncSession,
    intervention_id: uuid.UUID,
    supplier_id: uuid.UUID,
    supplier_user_id: uuid.UUID,
    kind: str,
    title: str,
    body: str,
    cta_label: str | None,
    cta_url: str | None,
    now: datetime,
) -> int:
    """Put a message in the user's app, once per intervention; the message's id either way."""
    try:
        message_kind = MessageKind(kind)
    except ValueError:
        raise _invalid("kind", f"must be one of {', '.join(MessageKind)}") from None
    values = {
        "title": _checked_text(_TITLE, title),
        "body": _checked_text(_BODY, body),
        "cta_label": _checked_text(_CTA_LABEL, cta_label),
        "cta_url": _checked_text(_CTA_URL, cta_url),
    }
    if (values["cta_label"] is None) != (values["cta_url"] is None):
        raise _invalid("cta_url", "a call to action needs both cta_label and cta_url")
    if values["cta_url"] is not None and not safe_cta_url(values["cta_url"]):
        raise _invalid("cta_url", "must be an http(s) URL or a path starting with /")
    await lock_suppliers(session, [supplier_id])
    new_id = await repository.insert_once(
        session,
        {
            **values,
            "intervention_id": intervention_id,
            "supplier_id": supplier_id,
            "supplier_user_id": supplier_user_id,
            "kind": message_kind.value,
            "created_at": now,
            "updated_at": now,
        },
    )
    if new_id is not None:
        return new_id
    existing = await repository.id_for_intervention(session, intervention_id)
    assert existing is not None, "the unique index refused the insert, so the row exists"
    return existing


async def messages_for(
    *, session: AsyncSession, supplier_user_id: uuid.UUID, after: int | None, limit: int
) -> InAppPage:
    """The user's messages not dismissed with ids above ``after``, oldest first."""
    if not 1 <= limit <= MAX_PAGE:
        raise _invalid("limit", f"must be from 1 to {MAX_PAGE}")
    rows = await repository.visible_after(
        session, supplier_user_id=supplier_user_id, after=after, limit=limit + 1
    )
    items = [InAppMessageOut.model_validate(row) for row in rows[:limit]]
    return InAppPage(
        items=items,
        next_cursor=items[-1].id if items else after,
        has_more=len(rows) > limit,
    )


async def _first_mark(
    session: AsyncSession,
    message: InAppMessage,
    *,
    column: repository.MessageMark,
    intervention_column: repository.InterventionMark,
    event_type: SuccessEventType,
    now: datetime,
) -> list[NewEvent]:
    """Mark the message and its intervention the first time; the event that records it."""
    if not await repository.mark_message(session, message.id, column, now):
        return []
    run = await repository.mark_intervention(
        session, message.intervention_id, intervention_column, now
    )
    if run is None:
        return []
    payload: dict[str, Any] = {
        "intervention_id": str(message.intervention_id),
        "channel": CHANNEL,
        "message_id": message.id,
        "supplier_user_id": str(message.supplier_user_id),
        "kind": message.kind,
        "run_id": str(run.run_id) if run.run_id else None,
        "step_no": run.step_no,
        "playbook_key": run.playbook_key,
        "template": run.template,
    }
    return [
        NewEvent(
            event_type=event_type,
            supplier_id=message.supplier_id,
            occurred_at=now,
            payload=payload,
        )
    ]


async def mark(
    *,
    session: AsyncSession,
    message_id: int,
    supplier_user_id: uuid.UUID,
    action: InAppAction,
    now: datetime,
) -> InAppMessageOut:
    """Record what the user did, once: the first ``seen`` opens the intervention and the first
    ``clicked`` clicks it (a click is also a sighting), each with its success event in the
    same transaction; a repeat changes nothing and emits nothing."""
    message = await repository.get(session, message_id)
    if message is None or message.supplier_user_id != supplier_user_id:
        raise NotFound(f"No in-app message {message_id} for this user")
    await lock_suppliers(session, [message.supplier_id])
    events: list[NewEvent] = []
    if action in (InAppAction.SEEN, InAppAction.CLICKED):
        events += await _first_mark(
            session,
            message,
            column="seen_at",
            intervention_column="opened_at",
            event_type=SuccessEventType.INTERVENTION_OPENED,
            now=now,
        )
    if action is InAppAction.CLICKED:
        events += await _first_mark(
            session,
            message,
            column="clicked_at",
            intervention_column="clicked_at",
            event_type=SuccessEventType.INTERVENTION_CLICKED,
            now=now,
        )
    if action is InAppAction.DISMISSED:
        await repository.mark_message(session, message.id, "dismissed_at", now)
    await enqueue(session=session, events=events, now=now)
    stored = await repository.get(session, message_id)
    assert stored is not None, "the message was read in this transaction"
    return InAppMessageOut.model_validate(stored)
