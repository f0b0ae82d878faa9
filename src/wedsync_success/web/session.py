"""Dashboard sign-in: server-side sessions behind a signed cookie, CSRF tokens, the user.

The cookie (Starlette's signed session) holds the session token, when it was last used and
the CSRF token; the token is only worth something while its ``team_sessions`` row exists
(see ``access.sessions``), so signing out anywhere ends it everywhere.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from wedsync_success.access.models import TeamUser
from wedsync_success.access.sessions import (
    SessionLifetimes,
    end_session,
    resume_session,
    start_session,
)
from wedsync_success.config import Settings
from wedsync_success.kit.errors import Forbidden
from wedsync_success.web.deps import ContextDep, SessionDep

SESSION_TOKEN = "sid"
SESSION_LAST_USED = "seen"
SESSION_CSRF = "csrf"


class LoginRequired(Exception):
    """Raised by page dependencies; the app turns it into a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRejected(Exception):
    """A form arrived without the session's CSRF token."""


def lifetimes(settings: Settings) -> SessionLifetimes:
    return SessionLifetimes(
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_absolute_hours),
    )


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get(SESSION_CSRF)
    if not (isinstance(expected, str) and submitted and hmac.compare_digest(expected, submitted)):
        raise CsrfRejected()


async def sign_in(request: Request, ctx: ContextDep, session: SessionDep, user: TeamUser) -> None:
    """Start a fresh server-side session for ``user`` (and a new CSRF token: no fixation)."""
    now = ctx.clock()
    token = await start_session(
        session=session, user_id=user.id, lifetimes=lifetimes(ctx.settings), now=now
    )
    request.session.clear()
    request.session[SESSION_TOKEN] = token
    request.session[SESSION_LAST_USED] = int(now.timestamp())
    request.session[SESSION_CSRF] = secrets.token_urlsafe(32)


async def sign_out(request: Request, session: SessionDep) -> None:
    """End the session server-side (a copy of the cookie stops working too)."""
    token = request.session.get(SESSION_TOKEN)
    if isinstance(token, str):
        await end_session(session=session, token=token)
    request.session.clear()


def login_url(next_path: str) -> str:
    return f"/login?next={quote(next_path, safe='/')}"


async def current_user(request: Request, ctx: ContextDep, session: SessionDep) -> TeamUser:
    """The signed-in team member of a live session, or a redirect to the login page."""
    token = request.session.get(SESSION_TOKEN)
    last_used = request.session.get(SESSION_LAST_USED)
    now = ctx.clock()
    user = None
    if isinstance(token, str) and isinstance(last_used, int):
        user = await resume_session(
            session=session,
            token=token,
            last_used=datetime.fromtimestamp(last_used, UTC),
            lifetimes=lifetimes(ctx.settings),
            now=now,
        )
    if user is None:
        if token is not None:
            request.session.pop(SESSION_TOKEN, None)
            request.session.pop(SESSION_LAST_USED, None)
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    request.session[SESSION_LAST_USED] = int(now.timestamp())
    return user


CurrentUser = Annotated[TeamUser, Depends(current_user)]


async def acting_user(user: CurrentUser) -> TeamUser:
    """The signed-in member, if their role may change things (admin, manager); else 403."""
    if not user.can_act:
        raise Forbidden(
            f"Your role ({user.role}) can read every page but change nothing; "
            "ask an admin for the manager role.",
            details=[{"field": "role", "reason": "viewers cannot send, assign or edit"}],
        )
    return user


ActingUser = Annotated[TeamUser, Depends(acting_user)]
"""For every dashboard route that writes: send, assign, edit, work tasks, start playbooks."""
