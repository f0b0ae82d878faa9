"""The dashboard's webhooks pages (admins only): endpoints, a form to add or edit one,
disable/enable, secret rotation, replay, the delivery log and resend.

Every form checks its CSRF token and runs in one unit of work; a new secret is shown on
the page that answers the form (never stored in the session cookie), once.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.requests import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access.models import TeamRole, TeamUser
from wedsync_success.integrations.webhooks import repository, service
from wedsync_success.integrations.webhooks.schemas import EVENT_TYPES, EndpointIn, EndpointPatch
from wedsync_success.kit.errors import Forbidden, NotFound, WedSyncError
from wedsync_success.web.deps import ContextDep, SessionDep, UnitOfWorkDep
from wedsync_success.web.rendering import flash, render
from wedsync_success.web.session import CurrentUser, check_csrf

router = APIRouter(include_in_schema=False)


async def admin_user(user: CurrentUser) -> TeamUser:
    """Webhooks send the platform's data to other systems: admins only."""
    if user.role != TeamRole.ADMIN:
        raise Forbidden(
            "Only admins manage webhooks.",
            details=[{"field": "role", "reason": "webhooks are an admin's"}],
        )
    return user


AdminUser = Annotated[TeamUser, Depends(admin_user)]
TypesForm = Annotated[list[str], Form()]


async def _page(
    request: Request,
    session: AsyncSession,
    user: TeamUser,
    *,
    selected: uuid.UUID | None = None,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    endpoints = await service.list_endpoints(session=session)
    log = []
    if selected is not None:
        log = await repository.deliveries(
            session, endpoint_id=selected, state=None, before_id=None, limit=100
        )
    return render(
        request,
        "webhooks.html",
        status_code=status_code,
        user=user,
        page="webhooks",
        endpoints=endpoints,
        selected=next((e for e in endpoints if e.id == selected), None),
        log=log,
        event_types=sorted(EVENT_TYPES),
        **extra,
    )


def _form_error(exc: ValidationError | WedSyncError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors()
        )
    details = exc.details if isinstance(exc.details, list) else []
    return "; ".join(f"{d['field']}: {d['reason']}" for d in details) or exc.message


@router.get("/webhooks")
async def webhooks_page(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    endpoint: uuid.UUID | None = None,
) -> Response:
    return await _page(request, session, user, selected=endpoint)


@router.post("/webhooks")
async def add_endpoint(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    uow: UnitOfWorkDep,
    user: AdminUser,
    url: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    event_type: TypesForm = [],  # noqa: B006 - FastAPI copies defaults
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        data = EndpointIn(url=url, description=description, event_types=event_type or None)
        await service.check_endpoint_url(data.url, allow_private=ctx.webhooks.policy.allow_private)
    except (ValidationError, WedSyncError) as exc:
        return await _page(request, session, user, status_code=422, error=_form_error(exc))
    endpoint, secret = await uow.run(
        lambda write: service.create_endpoint(
            session=write, data=data, sealer=ctx.webhooks.sealer, now=ctx.clock()
        )
    )
    return await _page(request, session, user, selected=endpoint.id, new_secret=secret)


@router.post("/webhooks/{endpoint_id}")
async def edit_endpoint(
    request: Request,
    endpoint_id: uuid.UUID,
    ctx: ContextDep,
    session: SessionDep,
    uow: UnitOfWorkDep,
    user: AdminUser,
    action: Annotated[str, Form()] = "save",
    url: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    event_type: TypesForm = [],  # noqa: B006 - FastAPI copies defaults
    since: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """One form per endpoint; ``action`` says which button: save, disable, enable, rotate,
    replay (held, or everything ``since`` a time)."""
    check_csrf(request, csrf)
    now = ctx.clock()
    try:
        if action == "rotate":
            secret, _until = await uow.run(
                lambda write: service.rotate_secret(
                    session=write,
                    endpoint_id=endpoint_id,
                    overlap=ctx.webhooks.policy.rotation_overlap,
                    sealer=ctx.webhooks.sealer,
                    now=now,
                )
            )
            return await _page(request, session, user, selected=endpoint_id, new_secret=secret)
        if action == "replay":
            when = datetime.fromisoformat(since) if since else None
            if when is not None and when.tzinfo is None:
                raise ValueError("since: give a time with its offset, e.g. 2026-06-01T00:00Z")
            queued = await uow.run(
                lambda write: service.replay(
                    session=write, endpoint_id=endpoint_id, since=when, now=now
                )
            )
            ctx.webhooks.wake_worker()
            flash(request, f"{queued} deliveries queued again.")
        else:
            patch = _patch(action, url, description, event_type)
            if patch.url is not None:
                await service.check_endpoint_url(
                    patch.url, allow_private=ctx.webhooks.policy.allow_private
                )
            await uow.run(
                lambda write: service.update_endpoint(
                    session=write, endpoint_id=endpoint_id, patch=patch, now=now
                )
            )
            flash(request, {"disable": "Disabled.", "enable": "Enabled."}.get(action, "Saved."))
    except (ValidationError, WedSyncError) as exc:
        return await _page(
            request, session, user, selected=endpoint_id, status_code=422, error=_form_error(exc)
        )
    except ValueError as exc:
        return await _page(
            request, session, user, selected=endpoint_id, status_code=422, error=str(exc)
        )
    return RedirectResponse(f"/webhooks?endpoint={endpoint_id}", status_code=303)


def _patch(action: str, url: str, description: str, event_type: list[str]) -> EndpointPatch:
    if action == "disable":
        return EndpointPatch(enabled=False)
    if action == "enable":
        return EndpointPatch(enabled=True)
    if action != "save":
        raise ValueError(f"action: unknown action {action[:40]!r}")
    return EndpointPatch(
        url=url,
        description=description,
        event_types=event_type or None,
        all_event_types=not event_type,
    )


@router.get("/webhooks/deliveries/{delivery_id}")
async def delivery_page(
    request: Request, delivery_id: int, session: SessionDep, user: AdminUser
) -> Response:
    """One delivery: its body and every attempt (status, duration, answer, error)."""
    delivery = await repository.delivery(session, delivery_id)
    if delivery is None:
        raise NotFound(f"No webhook delivery {delivery_id}")
    return render(
        request,
        "webhook_delivery.html",
        user=user,
        page="webhooks",
        delivery=delivery,
        body=json.dumps(delivery.body, indent=2, ensure_ascii=False),
        attempts=await repository.attempts(session, delivery_id),
    )


@router.post("/webhooks/deliveries/{delivery_id}/resend")
async def resend_delivery(
    request: Request,
    delivery_id: int,
    ctx: ContextDep,
    session: SessionDep,
    uow: UnitOfWorkDep,
    user: AdminUser,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        delivery = await uow.run(
            lambda write: service.resend(session=write, delivery_id=delivery_id, now=ctx.clock())
        )
    except WedSyncError as exc:
        return await _page(request, session, user, status_code=422, error=_form_error(exc))
    ctx.webhooks.wake_worker()
    flash(request, f"Delivery {delivery_id} queued again.")
    return RedirectResponse(f"/webhooks?endpoint={delivery.endpoint_id}", status_code=303)
