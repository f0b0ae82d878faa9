"""Mounting the dashboard on the app: sessions, static assets, pages, login redirects, and
failures shown to a browser as styled pages."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from wedsync_success.access.models import TeamUser
from wedsync_success.config import Settings, require_secret_key
from wedsync_success.context import AppContext
from wedsync_success.integrations.webhooks.pages import router as webhooks_pages_router
from wedsync_success.web.business_pages import router as business_router
from wedsync_success.web.dashboard import router
from wedsync_success.web.demo import router as demo_router
from wedsync_success.web.errors import ErrorHandler
from wedsync_success.web.live_frames import LiveFrames
from wedsync_success.web.marketing_pages import router as marketing_router
from wedsync_success.web.outreach_pages import router as outreach_router
from wedsync_success.web.owner_pages import router as owner_router
from wedsync_success.web.referral_pages import router as referral_router
from wedsync_success.web.rendering import render
from wedsync_success.web.search_pages import router as search_router
from wedsync_success.web.segment_pages import router as segment_router
from wedsync_success.web.session import CsrfRejected, LoginRequired, current_user, login_url
from wedsync_success.web.workspace_pages import router as workspace_router

NOT_PAGES = ("/api/", "/static/", "/healthz", "/readyz", "/metrics")
"""Paths that answer machines, in JSON, whatever the client accepts."""


def wants_page(request: Request) -> bool:
    """A browser asking for a page: an HTML ``Accept`` on a path outside the API."""
    accepts = request.headers.get("accept", "")
    return "text/html" in accepts and not request.url.path.startswith(NOT_PAGES)


async def _signed_in(request: Request) -> TeamUser | None:
    """The signed-in member, for the page's top bar; nobody when there is no live session."""
    ctx: AppContext | None = getattr(request.app.state, "ctx", None)
    if ctx is None or "session" not in request.scope:
        return None
    async with ctx.db.sessions() as session:
        try:
            return await current_user(request, ctx, session)
        except LoginRequired:
            return None


def page_errors(handler: ErrorHandler) -> ErrorHandler:
    """``handler``'s answer, shown as a styled page when a browser asked for a page: the
    same status and message, never raw JSON."""

    async def answer(request: Request, exc: Exception) -> Response:
        response = await handler(request, exc)
        if not wants_page(request):
            return response
        message = json.loads(bytes(response.body))["error"]["message"]
        page = render(
            request,
            "error.html",
            status_code=response.status_code,
            user=await _signed_in(request),
            message=message,
        )
        for name in ("Retry-After", "Allow"):
            if name in response.headers:
                page.headers[name] = response.headers[name]
        return page

    return answer


async def _to_login(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(login_url(exc.next_path), status_code=303)


async def _csrf_rejected(request: Request, _: Exception) -> Response:
    return render(
        request,
        "error.html",
        status_code=403,
        user=await _signed_in(request),
        message="This form has expired: go back, reload the page and try again.",
    )


def install_dashboard(app: FastAPI, settings: Settings) -> None:
    """Add the success team's pages (and, when ``demo_pages`` is on, the demo of the
    suppliers' side) to ``app``; refuses to without a strong secret key."""
    app.add_middleware(
        SessionMiddleware,
        secret_key=require_secret_key(settings),
        session_cookie="wedsync_session",
        max_age=settings.session_absolute_hours * 3600,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_exception_handler(LoginRequired, _to_login)
    app.state.live_frames = LiveFrames()
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
    app.include_router(router)
    app.include_router(outreach_router)
    app.include_router(workspace_router)
    app.include_router(owner_router)
    app.include_router(search_router)
    app.include_router(webhooks_pages_router)
    app.include_router(business_router)
    app.include_router(referral_router)
    app.include_router(segment_router)
    app.include_router(marketing_router)
    if settings.demo_pages:
        app.include_router(demo_router)
