"""The dashboard's Segments pages: every behavioural segment with its members and recent
movement, and one segment's members (paged), history and latest entries and exits.

The same service functions as ``GET /api/v1/segments`` and ``…/{key}/members``; the
history comes from the segment's own success events (``segments/history.py``). Every
signed-in member may read them, as the read API lets any key read segments.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from wedsync_success.kit.pagination import MAX_CURSOR_CHARS
from wedsync_success.segments import history, service
from wedsync_success.segments.definitions import KEY_PATTERN
from wedsync_success.suppliers import repository as suppliers_repository
from wedsync_success.web.deps import ContextDep, SessionDep
from wedsync_success.web.rendering import render
from wedsync_success.web.segment_view import membership_chart, rule_summary
from wedsync_success.web.session import CurrentUser

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
"""Members a page."""
RECENT_CHANGES = 20
HISTORY_DAYS = 30

SegmentKey = Annotated[str, Path(max_length=64, pattern=KEY_PATTERN)]


@router.get("/segments", response_class=HTMLResponse)
async def segments_page(
    request: Request, ctx: ContextDep, session: SessionDep, user: CurrentUser
) -> Response:
    """Every segment: its rule in words, members now, entries and exits lately."""
    segments = await service.list_segments(session=session, catalog=ctx.segments)
    moved = await history.movements(
        session=session, keys=[s.key for s in segments], now=ctx.clock()
    )
    return render(
        request,
        "segments.html",
        user=user,
        page="segments",
        segments=segments,
        moved=moved,
        summaries={s.key: rule_summary(s.rules) for s in segments},
    )


@router.get("/segments/{key}", response_class=HTMLResponse)
async def segment_page(
    request: Request,
    key: SegmentKey,
    ctx: ContextDep,
    session: SessionDep,
    user: CurrentUser,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS)] = None,
) -> Response:
    """One segment: its members a page at a time (a malformed cursor is a 422 naming it),
    its members over the last 30 days and its latest entries and exits."""
    segment = await service.get_segment(session=session, catalog=ctx.segments, key=key)
    members = await service.members(
        session=session, catalog=ctx.segments, key=key, cursor=cursor, limit=PAGE_SIZE
    )
    now = ctx.clock()
    changes = await history.recent_changes(session=session, key=key, limit=RECENT_CHANGES)
    points = await history.membership_by_day(
        session=session, key=key, members_now=members.total, now=now, days=HISTORY_DAYS
    )
    ids = sorted({c.supplier_id for c in changes if c.supplier_id is not None})
    names = await suppliers_repository.names_of(session, ids)
    return render(
        request,
        "segment.html",
        user=user,
        page="segments",
        segment=segment,
        summary=rule_summary(segment.rules),
        members=members,
        first_page=cursor is None,
        moved=(await history.movements(session=session, keys=[key], now=now))[key],
        changes=changes,
        names=names,
        # Nothing to draw for a segment that never had a member: no event, no history.
        chart=membership_chart(points) if changes or members.total else None,
    )


@router.get("/segments/{key}/members.csv")
async def segment_members_csv(
    key: SegmentKey, ctx: ContextDep, session: SessionDep, _user: CurrentUser
) -> StreamingResponse:
    """Every member as CSV for a signed-in member: the export of
    ``GET /api/v1/segments/{key}/members.csv`` (which wants an API key) behind the sign-in."""
    await service.segment_by_key(session=session, catalog=ctx.segments, key=key)

    async def body() -> AsyncIterator[str]:
        async with ctx.db.sessions() as own:  # the request's session closes with the route
            async for chunk in service.members_csv(session=own, catalog=ctx.segments, key=key):
                yield chunk

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{key}-members.csv"'},
    )
