"""The embeddable widget's routes: the same pull and marks as the in-app API, for the one
supplier user a widget token names (``Authorization: Bearer <widget token>``).

Not part of the API key surface, so not in the OpenAPI document; CORS is open on these
paths (see ``web/cors.py``) because the token, not a cookie, is the credential.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.config import require_secret_key
from wedsync_success.interventions import inapp, widget_tokens
from wedsync_success.interventions.inapp_schemas import (
    MAX_PAGE,
    InAppAction,
    InAppMessageOut,
    InAppPage,
)
from wedsync_success.kit.limits import BIGINT_MAX
from wedsync_success.web.deps import ContextDep, SessionDep, UnitOfWorkDep

router = APIRouter(prefix="/widget/v1", include_in_schema=False)


def widget_user(request: Request, ctx: ContextDep) -> uuid.UUID:
    """The supplier user of the request's widget token."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return widget_tokens.verify(
        secret_key=require_secret_key(ctx.settings),
        token=token.strip() if scheme.lower() == "bearer" else None,
        now=ctx.clock(),
    )


WidgetUser = Annotated[uuid.UUID, Depends(widget_user)]


@router.get("/messages", response_model=InAppPage)
async def widget_messages(
    user: WidgetUser,
    session: SessionDep,
    after: Annotated[int | None, Query(ge=0, le=BIGINT_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> InAppPage:
    return await inapp.messages_for(
        session=session, supplier_user_id=user, after=after, limit=limit
    )


@router.post("/messages/{message_id}/{action}", response_model=InAppMessageOut)
async def widget_mark(
    message_id: Annotated[int, Path(ge=1, le=BIGINT_MAX)],
    action: InAppAction,
    user: WidgetUser,
    ctx: ContextDep,
    uow: UnitOfWorkDep,
) -> InAppMessageOut:
    now = ctx.clock()

    async def work(session: AsyncSession) -> InAppMessageOut:
        return await inapp.mark(
            session=session, message_id=message_id, supplier_user_id=user, action=action, now=now
        )

    return await uow.run(work)
