"""Segments: list and read them and their members (any key), define them (admin keys)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.kit.pagination import MAX_CURSOR_CHARS
from wedsync_success.segments import service
from wedsync_success.segments.definitions import KEY_PATTERN
from wedsync_success.segments.schemas import (
    Evaluation,
    MemberPage,
    SegmentIn,
    SegmentOut,
    SegmentPatch,
)
from wedsync_success.web.body import read_json, validate_body
from wedsync_success.web.deps import (
    API_PREFIX,
    AdminKey,
    ContextDep,
    ReadKey,
    SessionDep,
    UnitOfWorkDep,
)
from wedsync_success.web.openapi import READ, WRITE, error_responses, json_body

router = APIRouter(prefix=f"{API_PREFIX}/segments", tags=["segments"])

SegmentKey = Annotated[
    str, Path(max_length=64, pattern=KEY_PATTERN, description="The segment's key")
]

_EXAMPLE = {
    "key": "lapsed_venues",
    "name": "Venues gone quiet",
    "rules": {
        "all": [
            {"field": "vendor_type", "op": "eq", "value": "venue"},
            {"field": "activity.login", "op": "eq", "value": 0, "days": 30},
        ]
    },
}


@router.get(
    "", response_model=list[SegmentOut], summary="Segments", responses=error_responses(*READ)
)
async def list_segments(session: SessionDep, ctx: ContextDep, _key: ReadKey) -> list[SegmentOut]:
    """The file's segments and the API's, with their current member counts."""
    return await service.list_segments(session=session, catalog=ctx.segments)


@router.post(
    "",
    status_code=201,
    response_model=SegmentOut,
    summary="Define a segment",
    openapi_extra=json_body(
        SegmentIn,
        description="A key (unique, also against the segments file), a name and a rule. "
        "The segment is evaluated at once: its first members' segment.entered events are "
        "in the outbox when this answers.",
        example=_EXAMPLE,
    ),
    responses=error_responses(*WRITE),
)
async def create_segment(
    request: Request, ctx: ContextDep, uow: UnitOfWorkDep, _key: AdminKey
) -> SegmentOut:
    data = validate_body(SegmentIn, await read_json(request, limit=ctx.settings.max_body_bytes))
    now = ctx.clock()

    async def work(session: AsyncSession) -> SegmentOut:
        await service.create_segment(
            session=session, catalog=ctx.segments, milestones=ctx.milestones, data=data, now=now
        )
        return await service.get_segment(session=session, catalog=ctx.segments, key=data.key)

    return await uow.run(work)


@router.get(
    "/{key}",
    response_model=SegmentOut,
    summary="One segment",
    responses=error_responses(*READ, 404),
)
async def get_segment(
    key: SegmentKey, session: SessionDep, ctx: ContextDep, _key: ReadKey
) -> SegmentOut:
    return await service.get_segment(session=session, catalog=ctx.segments, key=key)


@router.patch(
    "/{key}",
    response_model=SegmentOut,
    summary="Change a segment defined through the API",
    openapi_extra=json_body(
        SegmentPatch,
        description="Fields to change; the segment is evaluated again at once. The file's "
        "segments are changed in the file.",
        example={"name": "Venues quiet for a month"},
    ),
    responses=error_responses(*WRITE, 404),
)
async def patch_segment(
    key: SegmentKey, request: Request, ctx: ContextDep, uow: UnitOfWorkDep, _key: AdminKey
) -> SegmentOut:
    patch = validate_body(SegmentPatch, await read_json(request, limit=ctx.settings.max_body_bytes))
    now = ctx.clock()

    async def work(session: AsyncSession) -> SegmentOut:
        await service.update_segment(
            session=session,
            catalog=ctx.segments,
            milestones=ctx.milestones,
            key=key,
            patch=patch,
            now=now,
        )
        return await service.get_segment(session=session, catalog=ctx.segments, key=key)

    return await uow.run(work)


@router.delete(
    "/{key}",
    response_model=Evaluation,
    summary="Delete a segment defined through the API",
    responses=error_responses(*READ, 404, 503),
)
async def delete_segment(
    key: SegmentKey, ctx: ContextDep, uow: UnitOfWorkDep, _key: AdminKey
) -> Evaluation:
    """Its members leave it: a segment.exited event each."""
    now = ctx.clock()

    async def work(session: AsyncSession) -> Evaluation:
        exited = await service.delete_segment(
            session=session, catalog=ctx.segments, key=key, now=now
        )
        return Evaluation(key=key, entered=0, exited=exited, members=0)

    return await uow.run(work)


@router.get(
    "/{key}/members",
    response_model=MemberPage,
    summary="A segment's members, a page at a time",
    responses=error_responses(*READ, 404),
)
async def members(
    key: SegmentKey,
    session: SessionDep,
    ctx: ContextDep,
    _key: ReadKey,
    cursor: Annotated[
        str | None,
        Query(max_length=MAX_CURSOR_CHARS, description="next_cursor of the previous page"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> MemberPage:
    """In supplier id order; each page's ``next_cursor`` fetches the next."""
    return await service.members(
        session=session, catalog=ctx.segments, key=key, cursor=cursor, limit=limit
    )


@router.get(
    "/{key}/members.csv",
    summary="Every member of a segment, as CSV",
    response_class=StreamingResponse,
    responses={
        **error_responses(*READ, 404),
        200: {"content": {"text/csv": {}}, "description": "A header line, then a member a line"},
    },
)
async def members_csv(
    key: SegmentKey, session: SessionDep, ctx: ContextDep, _key: ReadKey
) -> StreamingResponse:
    """Streamed a page at a time, so any size exports in flat memory."""
    await service.segment_by_key(session=session, catalog=ctx.segments, key=key)

    async def body() -> AsyncIterator[str]:
        # Its own session: the request's is closed once the route returns.
        async with ctx.db.sessions() as own:
            async for chunk in service.members_csv(session=own, catalog=ctx.segments, key=key):
                yield chunk

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{key}-members.csv"'},
    )
