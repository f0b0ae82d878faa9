"""Mounting the dashboard on the app: sessions, static assets, pages, login redirects."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from wedsync_success.config import Settings, require_secret_key
from wedsync_success.web.dashboard import router
from wedsync_success.web.demo import router as demo_router
from wedsync_success.web.outreach_pages import router as outreach_router
from wedsync_success.web.session import CsrfRejected, LoginRequired, login_url


async def _to_login(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(login_url(exc.next_path), status_code=303)


async def _csrf_rejected(_: Request, __: Exception) -> Response:
    return HTMLResponse(
        "<h1>This form has expired</h1><p>Go back, reload the page and try again.</p>",
        status_code=403,
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
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
    app.include_router(router)
    app.include_router(outreach_router)
    if settings.demo_pages:
        app.include_router(demo_router)
