"""Routes of the workspace domain: notes on a supplier.

An API key has no author of its own, so a write names the team member it is done for
(``author_email``: an enabled admin or manager); the note is theirs, and only they can edit
it. Deleting takes the author, or an admin.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import EmailStr
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.kit.pagination import MAX_CURSOR_CHARS
from wedsync_success.web.body import read_json, validate_body
from wedsync_success.web.deps import (
    API_PREFIX,
    ActKey,
    ContextDep,
    ReadKey,
    SessionDep,
    SupplierIdDep,
    UnitOfWorkDep,
)
from wedsync_success.web.openapi import READ, WRITE, error_responses, json_body
from wedsync_success.workspace import service
from wedsync_success.workspace.schemas import NoteIn, NoteOut, NotePage

router = APIRouter(prefix=API_PREFIX, tags=["workspace"])

_NOTE_EXAMPLE = {
    "body": "Spoke to Ada: busy season, will look at journeys in March.",
    "author_email": "ana@wedsync.example",
}


@router.get(
    "/suppliers/{supplier_id}/notes",
    response_model=NotePage,
    summary="The team's notes on a supplier, newest first",
    responses=error_responses(*READ, 404),
)
async def get_notes(
    _key: ReadKey,
    supplier_id: SupplierIdDep,
    session: SessionDep,
    cursor: Annotated[
        str | None,
        Query(max_length=MAX_CURSOR_CHARS, description="next_cursor of the previous page"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotePage:
    return await service.list_notes(
        session=session, supplier_id=supplier_id, cursor=cursor, limit=limit
    )


@router.post(
    "/suppliers/{supplier_id}/notes",
    response_model=NoteOut,
    status_code=201,
    summary="Write a note on a supplier, for a team member",
    openapi_extra=json_body(
        NoteIn,
        description="the text (1 to 10,000 characters) and its author",
        example=_NOTE_EXAMPLE,
    ),
    responses=error_responses(*WRITE, 404),
)
async def post_note(
    _key: ActKey,
    supplier_id: SupplierIdDep,
    request: Request,
    ctx: ContextDep,
    uow: UnitOfWorkDep,
) -> NoteOut:
    """``author_email`` must be an enabled admin or manager (a viewer is refused with 403)."""
    body = validate_body(NoteIn, await read_json(request, limit=ctx.settings.max_body_bytes))
    now = ctx.clock()

    async def work(session: AsyncSession) -> NoteOut:
        author = await service.acting_member(
            session=session, email=body.author_email, field="author_email"
        )
        return await service.add_note(
            session=session, supplier_id=supplier_id, author=author, text=body, now=now
        )

    return await uow.run(work)


@router.patch(
    "/notes/{note_id}",
    response_model=NoteOut,
    summary="Change a note's text (its author only)",
    openapi_extra=json_body(
        NoteIn, description="the new text and the note's author", example=_NOTE_EXAMPLE
    ),
    responses=error_responses(*WRITE, 404),
)
async def patch_note(
    note_id: uuid.UUID, request: Request, ctx: ContextDep, uow: UnitOfWorkDep, _key: ActKey
) -> NoteOut:
    """Refused with 403 when ``author_email`` is not the note's author."""
    body = validate_body(NoteIn, await read_json(request, limit=ctx.settings.max_body_bytes))
    now = ctx.clock()

    async def work(session: AsyncSession) -> NoteOut:
        author = await service.acting_member(
            session=session, email=body.author_email, field="author_email"
        )
        return await service.edit_note(
            session=session, note_id=note_id, author=author, text=body, now=now
        )

    return await uow.run(work)


@router.delete(
    "/notes/{note_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a note (its author, or an admin)",
    responses=error_responses(*READ, 404, 503),
)
async def delete_note(
    note_id: uuid.UUID,
    uow: UnitOfWorkDep,
    _key: ActKey,
    author_email: Annotated[
        EmailStr, Query(max_length=320, description="the note's author, or an admin")
    ],
) -> Response:
    async def work(session: AsyncSession) -> None:
        by = await service.acting_member(session=session, email=author_email, field="author_email")
        await service.delete_note(session=session, note_id=note_id, by=by)

    await uow.run(work)
    return Response(status_code=204)
