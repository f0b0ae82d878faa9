"""The success team's dashboard: server-rendered pages over the same services as the API.

Pages read through the domain services (suppliers.service, suppliers.profile,
reports.overview, events.repository) exactly as the JSON API does; templates only format.
Live updates arrive over Server-Sent Events from the in-process :class:`LiveHub`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, TypeVar

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from sse_starlette import EventSourceResponse, ServerSentEvent

from wedsync_success.access.models import TeamUser
from wedsync_success.access.team import stored_password, verify_password
from wedsync_success.access.throttle import LoginThrottle
from wedsync_success.context import AppContext
from wedsync_success.events import repository as events_repository
from wedsync_success.events.types import SuccessEventType
from wedsync_success.health.config import RiskLevel
from wedsync_success.health.onboarding import onboarding_briefs
from wedsync_success.health.repository import recent_scores
from wedsync_success.kit.errors import RateLimited, Unauthorized, ValidationFailed
from wedsync_success.suppliers import repository as suppliers_repository
from wedsync_success.suppliers.models import PlanTier, VendorType
from wedsync_success.suppliers.repository import SORTS, SupplierFilters
from wedsync_success.suppliers.schemas import SupplierMatch
from wedsync_success.suppliers.search import search_suppliers
from wedsync_success.suppliers.service import count_suppliers, list_suppliers
from wedsync_success.web.deps import ContextDep, SessionDep, UnitOfWorkDep
from wedsync_success.web.live_frames import LiveFrames
from wedsync_success.web.owner_view import owner_choice, owner_view
from wedsync_success.web.rendering import render, safe_next
from wedsync_success.web.risk_view import any_current, churn_filters, risk_view
from wedsync_success.web.session import (
    CurrentUser,
    check_csrf,
    current_user,
    sign_in,
    sign_out,
)
from wedsync_success.web.supplier_view import SendForm, supplier_context

SPARKLINE_DAYS = 30
HEARTBEAT_SECONDS = 15

router = APIRouter(include_in_schema=False)
EnumT = TypeVar("EnumT", bound=StrEnum)


class BlankAsUnset:
    """Form fields left on "Any" arrive as empty strings; pages treat them as not given."""

    @staticmethod
    def enum(kind: type[EnumT], value: str | None, field: str) -> EnumT | None:
        if not value:
            return None
        try:
            return kind(value)
        except ValueError:
            raise ValidationFailed(
                f"{field}: {value!r} is not one of {', '.join(m.value for m in kind)}",
                details=[{"field": field, "reason": "unknown value"}],
            ) from None

    @staticmethod
    def number(value: str | None, field: str) -> float | None:
        if value is None or not value.strip():
            return None
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not 0 <= number <= 100:
            raise ValidationFailed(
                f"{field} must be a number from 0 to 100",
                details=[{"field": field, "reason": "not a number from 0 to 100"}],
            )
        return number


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", next=safe_next(next), email="", error=None)


def _throttle(ctx: AppContext) -> LoginThrottle:
    return LoginThrottle(
        max_failures=ctx.settings.login_max_failures,
        window=timedelta(seconds=ctx.settings.login_failure_window_seconds),
    )


_pause = asyncio.sleep
"""How a refusal waits (tests replace it, to see it called without waiting)."""


async def _refuse_slowly(ctx: AppContext, session: AsyncSession) -> None:
    """End the read transaction, then pause before answering: a guessing client that
    waits for answers gets one try per pause, and the pause holds no connection."""
    await session.rollback()
    await _pause(ctx.settings.login_refusal_delay_seconds)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    uow: UnitOfWorkDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Sign in. Reads and hashing happen outside any write; the failure count, or the new
    session (and a rehashed password), is written in one unit of work, so a login never
    upgrades a read transaction into a write that SQLite would refuse while busy."""
    check_csrf(request, csrf)
    throttle, now = _throttle(ctx), ctx.clock()
    address = request.client.host if request.client else "unknown"
    again = {"next": safe_next(next), "email": email}
    try:
        await throttle.check(session=session, email=email, address=address, now=now)
        stored = await stored_password(session=session, email=email)
        await session.rollback()  # nothing written yet: hand the connection back while hashing
        user = await verify_password(session=session, stored=stored, password=password)
    except RateLimited as exc:
        await _refuse_slowly(ctx, session)
        response = render(request, "login.html", status_code=429, error=exc.message, **again)
        response.headers.update(exc.headers)
        return response
    except Unauthorized as exc:
        await session.rollback()
        await uow.run(
            lambda write: throttle.failed(session=write, email=email, address=address, now=now)
        )
        await _refuse_slowly(ctx, session)
        return render(request, "login.html", status_code=401, error=exc.message, **again)
    user_id, password_hash = user.id, user.password_hash  # a rehash, if parameters changed
    await session.rollback()

    async def work(write: AsyncSession) -> None:
        await throttle.succeeded(session=write, email=email)
        signed_in = await write.get(TeamUser, user_id, populate_existing=True)
        assert signed_in is not None  # verified a moment ago; deletion ends sessions anyway
        signed_in.password_hash = password_hash
        await sign_in(request, ctx, write, signed_in)

    await uow.run(work)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
async def logout(
    request: Request, session: SessionDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(request, csrf)
    await sign_out(request, session)
    await session.commit()
    return RedirectResponse("/login", status_code=303)


@router.get("/", response_class=HTMLResponse)
async def overview_page(
    request: Request, ctx: ContextDep, session: SessionDep, user: CurrentUser
) -> Response:
    report = await ctx.overviews.get(ctx.clock().date())
    recent = await events_repository.recent(session, limit=12)
    names = await suppliers_repository.names_of(
        session, [e.supplier_id for e in recent if e.supplier_id]
    )
    return render(
        request,
        "overview.html",
        user=user,
        page="overview",
        report=report,
        recent=recent,
        names=names,
    )


@router.get("/suppliers", response_class=HTMLResponse)
async def suppliers_page(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    user: CurrentUser,
    risk_level: str | None = None,
    vendor_type: str | None = None,
    plan: str | None = None,
    score_min: str | None = None,
    score_max: str | None = None,
    churn_band: str | None = None,
    churn_min: str | None = None,
    churn_max: str | None = None,
    owner: str | None = None,
    count: str | None = None,
    sort: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=10, le=200)] = 50,
) -> Response:
    if not sort:  # who to call first, once the churn model has scored anyone
        sort = "priority" if await any_current(session) else "score"
    try:
        owned = owner_choice(owner, user)
        filters = SupplierFilters(
            risk_level=BlankAsUnset.enum(RiskLevel, risk_level, "risk_level"),
            vendor_type=BlankAsUnset.enum(VendorType, vendor_type, "vendor_type"),
            plan_tier=BlankAsUnset.enum(PlanTier, plan, "plan"),
            current_only=True,
            score_min=BlankAsUnset.number(score_min, "score_min"),
            score_max=BlankAsUnset.number(score_max, "score_max"),
            owner_id=owned.owner_id,
            unowned=owned.unowned,
            **churn_filters(churn_band, churn_min, churn_max),
        )
        page = await list_suppliers(
            session=session,
            filters=filters,
            reporting_currency=ctx.settings.reporting_currency,
            sort=sort,
            cursor=cursor,
            limit=limit,
        )
    except ValidationFailed as exc:
        return render(
            request, "error.html", status_code=422, user=user, page="suppliers", message=exc.message
        )
    trends = await recent_scores(
        session,
        [item.id for item in page.items],
        since=ctx.clock().date() - timedelta(days=SPARKLINE_DAYS),
    )
    onboarding = await onboarding_briefs(
        session=session,
        config=ctx.health,
        suppliers=[
            (item.id, item.signed_up_at, item.health.as_of)
            for item in page.items
            if item.health and item.health.risk_level == RiskLevel.ONBOARDING
        ],
    )
    query = {k: v for k, v in request.query_params.items() if k != "cursor"}
    query["owner"] = owned.value  # so sorting and paging keep the owner view
    return render(
        request,
        "suppliers.html",
        user=user,
        page="suppliers",
        suppliers=page,
        trends=trends,
        onboarding=onboarding,
        query=query,
        sort=sort,
        sorts=list(SORTS),
        risk_levels=list(RiskLevel),
        vendor_types=list(VendorType),
        plans=list(PlanTier),
        filters={
            "risk_level": filters.risk_level,
            "vendor_type": filters.vendor_type,
            "plan": filters.plan_tier,
            "score_min": filters.score_min,
            "score_max": filters.score_max,
        },
        risk=await risk_view(ctx=ctx, session=session, filters=filters, sort=sort),
        matching=await count_suppliers(
            session=session, filters=filters, sort=sort, exact=count == "all"
        ),
        owners=await owner_view(session=session, choice=owned),
    )


@router.get("/suppliers/{supplier_id}", response_class=HTMLResponse)
async def supplier_page(
    request: Request,
    supplier_id: uuid.UUID,
    ctx: ContextDep,
    session: SessionDep,
    user: CurrentUser,
) -> Response:
    context = await supplier_context(
        ctx=ctx, session=session, supplier_id=supplier_id, form=SendForm()
    )
    return render(request, "supplier.html", user=user, page="suppliers", **context)


EVENTS_PAGE = 50
NAME_MATCHES = 20
"""Suppliers whose events a name filter shows at most (the page lists them to pick one)."""


@router.get("/events", response_class=HTMLResponse)
async def events_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    type: str | None = None,
    supplier: str | None = None,
    supplier_id: str | None = None,
    before: int | None = None,
) -> Response:
    """Success events, filtered by type and by supplier: a name (every supplier it matches)
    or, from links elsewhere, an id."""
    try:
        event_type = BlankAsUnset.enum(SuccessEventType, type, "type")
        chosen = uuid.UUID(supplier_id.strip()) if supplier_id and supplier_id.strip() else None
    except (ValidationFailed, ValueError):
        return render(
            request,
            "error.html",
            status_code=422,
            user=user,
            page="events",
            message="Choose an event type from the list and give a full supplier id.",
        )
    typed = (supplier or "").strip()
    chosen_name = (
        (await suppliers_repository.names_of(session, [chosen])).get(chosen) if chosen else None
    )
    matches: list[SupplierMatch] = []
    if typed and (chosen is None or typed != chosen_name):  # the name typed wins over an old id
        chosen = None
        try:
            matches = (await search_suppliers(session=session, q=typed, limit=NAME_MATCHES)).items
        except ValidationFailed as exc:
            reason = exc.details[0]["reason"] if exc.details else exc.message
            return render(
                request,
                "error.html",
                status_code=422,
                user=user,
                page="events",
                message=f"The supplier name {reason}.",
            )
    ids = [chosen] if chosen else [m.id for m in matches] if typed else None
    rows = await events_repository.recent(
        session,
        supplier_ids=ids,
        event_type=event_type.value if event_type else None,
        before_sequence=before,
        limit=EVENTS_PAGE,
    )
    names = await suppliers_repository.names_of(
        session, [e.supplier_id for e in rows if e.supplier_id]
    )
    query = {k: v for k, v in request.query_params.items() if k != "before"}
    return render(
        request,
        "events.html",
        user=user,
        page="events",
        events=rows,
        names=names,
        types=list(SuccessEventType),
        selected_type=event_type,
        supplier_name=typed or chosen_name or "",
        supplier_id=chosen,
        filter_ids=ids,
        matches=matches,
        name_limit=NAME_MATCHES,
        unknown_name=bool(typed) and not chosen and not matches,
        next_before=rows[-1].id if len(rows) == EVENTS_PAGE else None,
        query=query,
    )


@router.get("/live")
async def live(request: Request, ctx: ContextDep, session: SessionDep) -> Response:
    """Server-Sent Events: every success event as it is delivered, for signed-in users."""
    await current_user(request, ctx, session)
    await session.close()  # do not hold a connection for the life of the stream
    frames: LiveFrames = request.app.state.live_frames

    async def stream() -> AsyncIterator[ServerSentEvent]:
        async with ctx.live.listen() as queue:
            yield ServerSentEvent(event="ready", data="{}", retry=2000)
            while True:
                # No timeout here: EventSourceResponse's ping keeps an idle stream alive. A
                # heartbeat of our own as well made two timers and two writes per listener
                # every 15 s (1,300 wake-ups a second at 10,000 listeners).
                burst = [await queue.get()]
                while not queue.empty():  # what arrived meanwhile: one name query for all
                    burst.append(queue.get_nowait())
                for frame in await frames.frames(ctx.db, burst):
                    yield frame

    return EventSourceResponse(stream(), ping=HEARTBEAT_SECONDS)
