"""Mounting the dashboard on the app: sessions, static assets, pages, login redirects."""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from wedsync_success.config import Settings
from wedsync_success.web.dashboard import router
from wedsync_success.web.session import CsrfRejected, LoginRequired, login_url

SESSION_DAYS = 14


async def _to_login(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(login_url(exc.next_path), status_code=303)


async def _csrf_rejected(_: Request, __: Exception) -> Response:
    return HTMLResponse(
        "<h1>This form has expired</h1><p>Go back, reload the page and try again.</p>",
        status_code=403,
    )


def install_dashboard(app: FastAPI, settings: Settings) -> None:
    """Add the success team's pages to ``app``."""
    secret = (
        settings.secret_key.get_secret_value() if settings.secret_key else secrets.token_urlsafe(32)
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="wedsync_session",
        max_age=SESSION_DAYS * 86_400,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_exception_handler(LoginRequired, _to_login)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
    app.include_router(router)
