"""Dashboard sign-in: signed session cookies, CSRF tokens, and the signed-in user."""

from __future__ import annotations

import hmac
import secrets
import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from wedsync_success.access.models import TeamUser
from wedsync_success.access.team import get_user
from wedsync_success.web.deps import SessionDep

SESSION_USER = "user_id"
SESSION_CSRF = "csrf"


class LoginRequired(Exception):
    """Raised by page dependencies; the app turns it into a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRejected(Exception):
    """A form arrived without the session's CSRF token."""


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


def sign_in(request: Request, user: TeamUser) -> None:
    """Start a fresh session for ``user`` (a new CSRF token too: no session fixation)."""
    request.session.clear()
    request.session[SESSION_USER] = str(user.id)
    request.session[SESSION_CSRF] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    request.session.clear()


def login_url(next_path: str) -> str:
    return f"/login?next={quote(next_path, safe='/')}"


async def current_user(request: Request, session: SessionDep) -> TeamUser:
    """The signed-in team member, or a redirect to the login page."""
    raw = request.session.get(SESSION_USER)
    user = None
    if isinstance(raw, str):
        try:
            user = await get_user(session=session, user_id=uuid.UUID(raw))
        except ValueError:
            user = None
    if user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    return user


CurrentUser = Annotated[TeamUser, Depends(current_user)]
