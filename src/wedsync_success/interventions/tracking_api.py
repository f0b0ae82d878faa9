"""Public routes hit by mail clients and recipients: open pixel, click redirect, unsubscribe.

They take no API key: the signed token in the path is the whole authority, and it can only
do the one thing it was made for (see :mod:`wedsync_success.interventions.links`). They stay
out of the OpenAPI document: they are parts of messages, not of the API.

The pixel and the click are GET routes that write (mail clients only GET); each records at
most one open or click, so a repeated or prefetched request changes nothing more. A database
too busy to record them still answers: a lost open is better than a broken image or link.
Unsubscribing never happens on GET (link scanners follow links): the page asks, and its
button POSTs. ``POST /u/{token}`` is also the RFC 8058 one-click target: no cookie and no
CSRF token are needed, since the token is the proof.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.convertors import PathConvertor, register_url_convertor

from wedsync_success.interventions import preferences, tracking
from wedsync_success.interventions.channels.base import Category, Channel
from wedsync_success.interventions.links import InvalidLink, Unsubscribe, tracking_links
from wedsync_success.kit.errors import NotFound, ServiceUnavailable, ValidationFailed
from wedsync_success.web.body import read_limited
from wedsync_success.web.deps import ContextDep, UnitOfWorkDep
from wedsync_success.web.rendering import TEMPLATES

log = structlog.get_logger(__name__)


class TokenConvertor(PathConvertor):
    """Any text at all, newlines and slashes too (``path`` stops at a newline), so every
    malformed token reaches its route and gets the route's own answer."""

    regex = "(?s:.*)"


register_url_convertor("token", TokenConvertor())

router = APIRouter(include_in_schema=False)

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
"""A 1×1 GIF whose one pixel is transparent (42 bytes)."""
NO_STORE = {"Cache-Control": "no-store, private"}
MAX_FORM_BYTES = 1024
ONE_CLICK = "One-Click"
CHANNEL_WORDS = {
    Channel.EMAIL: "emails",
    Channel.IN_APP: "in-app messages",
    Channel.SMS: "text messages",
}


def _what(choice: Unsubscribe) -> str:
    """Plain words for what the link unsubscribes from."""
    kind = CHANNEL_WORDS.get(choice.channel, f"{choice.channel} messages")
    if choice.category is Category.MARKETING:
        return f"tips and offers by {kind.replace('emails', 'email')}"
    return f"any {kind}"


def _invalid_page(request: Request) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "link_invalid.html", {}, 404, headers=NO_STORE)


@router.get("/t/o/{token:token}.gif")
async def open_pixel(token: str, ctx: ContextDep, uow: UnitOfWorkDep) -> Response:
    """The open pixel: always the GIF, whatever the token (its validity is never revealed)."""
    try:
        intervention_id = tracking_links(ctx.settings).verify_open(token)
    except InvalidLink:
        pass
    else:
        now = ctx.clock()

        async def work(session: AsyncSession) -> bool:
            return await tracking.record_open(
                session=session, intervention_id=intervention_id, now=now
            )

        try:
            await uow.run(work)
        except ServiceUnavailable as exc:
            log.warning("open_not_recorded", intervention_id=str(intervention_id), error=str(exc))
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@router.get("/t/c/{token:token}", response_model=None)
async def click(
    token: str, request: Request, ctx: ContextDep, uow: UnitOfWorkDep
) -> RedirectResponse | HTMLResponse:
    """A tracked link: record the click, then go to the target signed into the token."""
    try:
        link = tracking_links(ctx.settings).verify_click(token)
    except InvalidLink:
        return _invalid_page(request)
    now = ctx.clock()

    async def work(session: AsyncSession) -> bool:
        return await tracking.record_click(
            session=session, intervention_id=link.intervention_id, target=link.target, now=now
        )

    try:
        await uow.run(work)
    except ServiceUnavailable as exc:
        log.warning("click_not_recorded", intervention_id=str(link.intervention_id), error=str(exc))
    return RedirectResponse(
        link.target, status_code=303, headers={**NO_STORE, "Referrer-Policy": "no-referrer"}
    )


@router.get("/u/{token:token}")
async def unsubscribe_page(token: str, request: Request, ctx: ContextDep) -> HTMLResponse:
    """Ask before unsubscribing (a GET changes nothing: scanners follow links)."""
    try:
        choice = tracking_links(ctx.settings).verify_unsubscribe(token)
    except InvalidLink:
        return _invalid_page(request)
    context = {"done": False, "what": _what(choice)}
    return TEMPLATES.TemplateResponse(request, "unsubscribe.html", context, headers=NO_STORE)


@router.post("/u/{token:token}")
async def unsubscribe(
    token: str, request: Request, ctx: ContextDep, uow: UnitOfWorkDep
) -> HTMLResponse:
    """Unsubscribe: the page's button, or a mail client's RFC 8058 one-click POST."""
    try:
        choice = tracking_links(ctx.settings).verify_unsubscribe(token)
    except InvalidLink:
        return _invalid_page(request)
    form = parse_qs((await read_limited(request, limit=MAX_FORM_BYTES)).decode("latin-1"))
    source = "one_click" if form.get("List-Unsubscribe") == [ONE_CLICK] else "unsubscribe_link"
    now = ctx.clock()

    async def work(session: AsyncSession) -> None:
        await preferences.set_preference(
            session=session,
            supplier_user_id=choice.supplier_user_id,
            channel=choice.channel,
            category=choice.category,
            subscribed=False,
            source=source,
            now=now,
        )

    try:
        await uow.run(work)
    except (NotFound, ValidationFailed):  # the user is gone, or the link names no choice
        return _invalid_page(request)
    context = {"done": True, "what": _what(choice)}
    return TEMPLATES.TemplateResponse(request, "unsubscribe.html", context, headers=NO_STORE)
