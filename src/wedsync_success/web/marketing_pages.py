"""The dashboard's Marketing page (admins only): the Segment-spec sync's configuration,
the messages it sent (failures first), and the campaign triggers with their firings.

Admins only, like the webhooks pages and ``GET /api/v1/marketing/*`` (admin keys): it
shows where the platform's data goes and the messages themselves. The collector is shown
by its host alone and the write key only as set or not, never its value.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from wedsync_success.access.models import TeamRole, TeamUser
from wedsync_success.integrations.marketing import repository, service
from wedsync_success.integrations.marketing.models import MarketingMessage
from wedsync_success.integrations.marketing.service import MarketingPolicy
from wedsync_success.kit.errors import Forbidden
from wedsync_success.kit.pagination import MAX_CURSOR_CHARS, decode_cursor, encode_cursor
from wedsync_success.suppliers import repository as suppliers_repository
from wedsync_success.web.deps import ContextDep, SessionDep
from wedsync_success.web.rendering import render
from wedsync_success.web.session import CurrentUser

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
"""Recent messages a page."""
FAILING_SHOWN = 50
FIRINGS_SHOWN = 25
ERROR_SHOWN = 300
"""Characters of a last error shown in a table (the API has the whole text)."""


async def marketing_admin(user: CurrentUser) -> TeamUser:
    """The marketing sync sends the platform's data to another tool: admins only."""
    if user.role != TeamRole.ADMIN:
        raise Forbidden(
            "Only admins see the marketing sync.",
            details=[{"field": "role", "reason": "the marketing sync is an admin's"}],
        )
    return user


MarketingAdmin = Annotated[TeamUser, Depends(marketing_admin)]


@dataclass(frozen=True)
class SyncConfig:
    """The sync's settings as safe to show: the collector's host, whether a key is set."""

    enabled: bool
    host: str | None
    write_key_set: bool
    event_types: list[str]
    timeout_seconds: float
    retry_window_hours: float


def sync_config(policy: MarketingPolicy) -> SyncConfig:
    host = None
    if policy.base_url is not None:
        parts = urlsplit(policy.base_url)
        host = parts.hostname or "?"
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    return SyncConfig(
        enabled=policy.enabled,
        host=host,
        write_key_set=bool(policy.write_key),
        event_types=sorted(policy.event_types),
        timeout_seconds=policy.timeout.total_seconds(),
        retry_window_hours=policy.retry_window.total_seconds() / 3600,
    )


@dataclass(frozen=True)
class MessageRow:
    message: MarketingMessage
    name: str
    """The track call's event name, the campaign of a webhook; empty for identify."""
    error: str | None


def _row(message: MarketingMessage) -> MessageRow:
    body: dict[str, Any] = message.body
    name = str(body.get("event") or body.get("campaign") or "")
    error = message.last_error
    if error is not None and len(error) > ERROR_SHOWN:
        error = error[:ERROR_SHOWN] + "…"
    return MessageRow(message=message, name=name, error=error)


@router.get("/marketing", response_class=HTMLResponse)
async def marketing_page(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    user: MarketingAdmin,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS)] = None,
) -> Response:
    """Configuration, failing messages, recent messages (paged; a malformed cursor is a
    422 naming it), campaigns and their latest firings."""
    before = decode_cursor(cursor, shape=(int,))[0] if cursor else None
    marketing = ctx.marketing
    status = service.status(
        counts=await repository.state_counts(session),
        policy=marketing.policy,
        campaigns=marketing.campaigns,
    )
    failing = await repository.failing_messages(session, limit=FAILING_SHOWN)
    recent = await repository.messages(session, state=None, before_id=before, limit=PAGE_SIZE + 1)
    more = len(recent) > PAGE_SIZE
    recent = recent[:PAGE_SIZE]
    firings = await repository.recent_firings(session, limit=FIRINGS_SHOWN)
    ids: set[uuid.UUID] = {m.supplier_id for m in [*failing, *recent] if m.supplier_id}
    ids.update(f.supplier_id for f in firings)
    return render(
        request,
        "marketing.html",
        user=user,
        page="marketing",
        config=sync_config(marketing.policy),
        status=status,
        definitions={c.key: c for c in marketing.campaigns.file.campaigns},
        totals=await repository.firing_totals(session),
        failing=[_row(m) for m in failing],
        recent=[_row(m) for m in recent],
        next_cursor=encode_cursor([recent[-1].id]) if more else None,
        first_page=cursor is None,
        firings=firings,
        names=await suppliers_repository.names_of(session, sorted(ids)),
    )
