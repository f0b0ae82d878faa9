"""What every API router shares: its URL prefix, and dependencies declared once as
``Annotated`` aliases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access.key_cache import ApiKeyCache, KeyGrant
from wedsync_success.access.service import Scope, authorise
from wedsync_success.context import AppContext
from wedsync_success.db.unit_of_work import UnitOfWork
from wedsync_success.suppliers.models import Supplier
from wedsync_success.suppliers.service import resolve_supplier_ref, supplier_by_ref

API_PREFIX = "/api/v1"
"""Each domain router declares it itself (``APIRouter(prefix=API_PREFIX)``), so a route's
template is its full path: FastAPI keeps an included router's routes as they were declared,
and the request metrics label requests by that template."""


async def get_context(request: Request) -> AppContext:
    """The app's context. Async, as every dependency on a hot path: FastAPI runs a plain
    ``def`` dependency in its thread pool, a thread hop per request."""
    ctx: AppContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[AppContext, Depends(get_context)]


async def get_session(ctx: ContextDep) -> AsyncIterator[AsyncSession]:
    """A session for the request; it reads (authentication, GET routes), and write routes
    hand their work to :data:`UnitOfWorkDep` on the same session."""
    async with ctx.db.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


SupplierRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        description="The supplier's id (UUID) or its external id",
        examples=["0b6f9c1e-5d1a-4c1e-9a43-2f4f0f6d9b10", "cus_Nffrfe6Q3x"],
    ),
]


async def _supplier_id(supplier_id: SupplierRef, session: SessionDep) -> uuid.UUID:
    return await resolve_supplier_ref(session=session, ref=supplier_id)


SupplierIdDep = Annotated[uuid.UUID, Depends(_supplier_id)]
"""A route's ``{supplier_id}``: the supplier's id, or its external id (see
:func:`suppliers.service.resolve_supplier_ref`). Declare it after the route's API key, so
an unauthenticated request is refused before any lookup."""


async def _supplier(supplier_id: SupplierRef, session: SessionDep) -> Supplier:
    return await supplier_by_ref(session=session, ref=supplier_id)


SupplierDep = Annotated[Supplier, Depends(_supplier)]
"""The supplier a route's ``{supplier_id}`` names, read whole by the lookup itself (404 when
none): for routes that need its row, one query instead of a lookup and a read."""


# Declared as security schemes, so the OpenAPI document lists them (Swagger UI's Authorize).
_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")
_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="The same API key, as `X-API-Key: <key>`"
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
KeyHeaderDep = Annotated[str | None, Depends(_key_header)]


async def get_unit_of_work(ctx: ContextDep, session: SessionDep) -> UnitOfWork:
    """The request's one write transaction: ``await uow.run(work)`` commits once, retries the
    whole transaction on contention (503 when it stays contended), then wakes the dispatcher.
    It reuses the request's session (the one that authenticated), so a request holds one
    connection."""
    return UnitOfWork(ctx.db, session=session, after_commit=ctx.dispatcher.notify)


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]


def require(
    scope: Scope,
) -> Callable[[Request, SessionDep, BearerDep, KeyHeaderDep], Awaitable[KeyGrant]]:
    """A dependency that authenticates the API key (through the process's short-lived key
    cache), checks it carries ``scope`` and counts the request against the key's rate limit
    (the RateLimit-* headers go out with the response)."""

    async def dependency(
        request: Request, session: SessionDep, bearer: BearerDep, header: KeyHeaderDep
    ) -> KeyGrant:
        secret = bearer.credentials.strip() if bearer else header
        keys: ApiKeyCache = request.app.state.api_key_cache
        key = await keys.authenticate(session=session, secret=secret)
        authorise(key, scope)
        ctx: AppContext = request.app.state.ctx
        request.state.rate_limit = await ctx.rate_limits.hit(key.id, now=ctx.clock())
        return key

    return dependency


IngestKey = Annotated[KeyGrant, Depends(require(Scope.INGEST))]
ReadKey = Annotated[KeyGrant, Depends(require(Scope.READ))]
ActKey = Annotated[KeyGrant, Depends(require(Scope.ACT))]
InAppKey = Annotated[KeyGrant, Depends(require(Scope.INAPP))]
AdminKey = Annotated[KeyGrant, Depends(require(Scope.ADMIN))]
