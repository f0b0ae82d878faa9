"""Outbound webhook endpoints, their delivery log, replay and resend (admin keys only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.integrations.webhooks import repository, service
from wedsync_success.integrations.webhooks.models import DeliveryState
from wedsync_success.integrations.webhooks.schemas import (
    AttemptOut,
    DeliveryDetail,
    DeliveryOut,
    DeliveryPage,
    DeliveryStateName,
    EndpointCreated,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    ReplayIn,
    ReplayOut,
    SecretRotated,
)
from wedsync_success.kit.errors import NotFound
from wedsync_success.web.body import read_json, validate_body
from wedsync_success.web.deps import API_PREFIX, AdminKey, ContextDep, SessionDep, UnitOfWorkDep
from wedsync_success.web.openapi import READ, WRITE, error_responses, json_body

router = APIRouter(prefix=f"{API_PREFIX}/webhooks", tags=["webhooks"])

DeliveryId = Annotated[int, Path(ge=1, le=2**62, description="The delivery's id")]


@router.get(
    "/endpoints",
    response_model=list[EndpointOut],
    summary="Webhook endpoints",
    responses=error_responses(*READ),
)
async def list_endpoints(session: SessionDep, _key: AdminKey) -> list[EndpointOut]:
    return await service.list_endpoints(session=session)


@router.post(
    "/endpoints",
    status_code=201,
    response_model=EndpointCreated,
    summary="Add a webhook endpoint",
    openapi_extra=json_body(
        EndpointIn,
        description="Where to POST success events, and which types. The URL must be http(s), "
        "without credentials, and resolve to public addresses only.",
        example={"url": "https://crm.example.com/hooks/wedsync", "event_types": None},
    ),
    responses=error_responses(*WRITE),
)
async def create_endpoint(
    request: Request, ctx: ContextDep, uow: UnitOfWorkDep, _key: AdminKey
) -> EndpointCreated:
    """The answer carries the signing secret: it is shown only this once."""
    data = validate_body(EndpointIn, await read_json(request, limit=ctx.settings.max_body_bytes))
    await service.check_endpoint_url(data.url, allow_private=ctx.webhooks.policy.allow_private)
    now = ctx.clock()

    async def work(session: AsyncSession) -> EndpointCreated:
        endpoint, secret = await service.create_endpoint(
            session=session, data=data, sealer=ctx.webhooks.sealer, now=now
        )
        out = service.endpoint_out(endpoint, {})
        return EndpointCreated(**out.model_dump(), secret=secret)

    return await uow.run(work)


@router.get(
    "/endpoints/{endpoint_id}",
    response_model=EndpointOut,
    summary="One webhook endpoint",
    responses=error_responses(*READ, 404),
)
async def get_endpoint(endpoint_id: uuid.UUID, session: SessionDep, _key: AdminKey) -> EndpointOut:
    return await service.get_endpoint(session=session, endpoint_id=endpoint_id)


@router.patch(
    "/endpoints/{endpoint_id}",
    response_model=EndpointOut,
    summary="Change, disable or enable a webhook endpoint",
    openapi_extra=json_body(
        EndpointPatch,
        description="Fields to change. Disabling holds queued deliveries; enabling does not "
        "send them: replay them.",
        example={"enabled": False},
    ),
    responses=error_responses(*WRITE, 404),
)
async def patch_endpoint(
    endpoint_id: uuid.UUID, request: Request, ctx: ContextDep, uow: UnitOfWorkDep, _key: AdminKey
) -> EndpointOut:
    patch = validate_body(
        EndpointPatch, await read_json(request, limit=ctx.settings.max_body_bytes)
    )
    if patch.url is not None:
        await service.check_endpoint_url(patch.url, allow_private=ctx.webhooks.policy.allow_private)
    now = ctx.clock()

    async def work(session: AsyncSession) -> EndpointOut:
        await service.update_endpoint(
            session=session, endpoint_id=endpoint_id, patch=patch, now=now
        )
        return await service.get_endpoint(session=session, endpoint_id=endpoint_id)

    return await uow.run(work)


@router.post(
    "/endpoints/{endpoint_id}/rotate-secret",
    response_model=SecretRotated,
    summary="Rotate an endpoint's signing secret",
    responses=error_responses(*READ, 404, 503),
)
async def rotate_secret(
    endpoint_id: uuid.UUID, ctx: ContextDep, uow: UnitOfWorkDep, _key: AdminKey
) -> SecretRotated:
    """A new secret, shown once; the old one keeps signing beside it for
    ``WEDSYNC_WEBHOOKS_ROTATION_OVERLAP_HOURS`` (both signatures are sent)."""
    now = ctx.clock()
    secret, until = await uow.run(
        lambda session: service.rotate_secret(
            session=session,
            endpoint_id=endpoint_id,
            overlap=ctx.webhooks.policy.rotation_overlap,
            sealer=ctx.webhooks.sealer,
            now=now,
        )
    )
    return SecretRotated(secret=secret, previous_secret_expires_at=until)


@router.post(
    "/endpoints/{endpoint_id}/replay",
    response_model=ReplayOut,
    summary="Replay held deliveries, or every event since a time",
    openapi_extra=json_body(
        ReplayIn,
        description="No `since`: send what was held while the endpoint was disabled. "
        "With `since`: every event of its types that occurred since then, sent or not.",
        example={"since": "2026-06-01T00:00:00Z"},
    ),
    responses=error_responses(*WRITE, 404),
)
async def replay(
    endpoint_id: uuid.UUID, request: Request, ctx: ContextDep, uow: UnitOfWorkDep, _key: AdminKey
) -> ReplayOut:
    body = validate_body(ReplayIn, await read_json(request, limit=ctx.settings.max_body_bytes))
    now = ctx.clock()
    queued = await uow.run(
        lambda session: service.replay(
            session=session, endpoint_id=endpoint_id, since=body.since, now=now
        )
    )
    ctx.webhooks.wake_worker()
    return ReplayOut(queued=queued)


@router.get(
    "/endpoints/{endpoint_id}/deliveries",
    response_model=DeliveryPage,
    summary="An endpoint's delivery log, newest first",
    responses=error_responses(*READ, 404),
)
async def list_deliveries(
    endpoint_id: uuid.UUID,
    session: SessionDep,
    _key: AdminKey,
    state: Annotated[DeliveryStateName | None, Query(description="Only this state")] = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**62, description="Page cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DeliveryPage:
    await service.get_endpoint(session=session, endpoint_id=endpoint_id)  # 404 if unknown
    rows = await repository.deliveries(
        session,
        endpoint_id=endpoint_id,
        state=DeliveryState(state) if state else None,
        before_id=before_id,
        limit=limit,
    )
    items = [DeliveryOut.model_validate(r, from_attributes=True) for r in rows]
    return DeliveryPage(items=items, next_before_id=rows[-1].id if len(rows) == limit else None)


@router.get(
    "/deliveries/{delivery_id}",
    response_model=DeliveryDetail,
    summary="One delivery with its attempts",
    responses=error_responses(*READ, 404),
)
async def get_delivery(
    delivery_id: DeliveryId, session: SessionDep, _key: AdminKey
) -> DeliveryDetail:
    return await _detail(session, delivery_id)


async def _detail(session: AsyncSession, delivery_id: int) -> DeliveryDetail:
    delivery = await repository.delivery(session, delivery_id)
    if delivery is None:
        raise NotFound(f"no webhook delivery {delivery_id}")
    attempts = await repository.attempts(session, delivery_id)
    base = DeliveryOut.model_validate(delivery, from_attributes=True)
    return DeliveryDetail(
        **base.model_dump(),
        body=delivery.body,
        attempt_log=[AttemptOut.model_validate(a, from_attributes=True) for a in attempts],
    )


@router.post(
    "/deliveries/{delivery_id}/resend",
    response_model=DeliveryDetail,
    summary="Send one delivery again (same webhook-id)",
    responses=error_responses(*READ, 404, 503),
)
async def resend(
    delivery_id: DeliveryId, ctx: ContextDep, uow: UnitOfWorkDep, _key: AdminKey
) -> DeliveryDetail:
    now = ctx.clock()

    async def work(session: AsyncSession) -> DeliveryDetail:
        await service.resend(session=session, delivery_id=delivery_id, now=now)
        return await _detail(session, delivery_id)

    detail = await uow.run(work)
    ctx.webhooks.wake_worker()
    return detail
