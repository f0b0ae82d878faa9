"""The dashboard's Jinja2 environment, page rendering and one-shot notices ("flash")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from wedsync_success.web import formatting
from wedsync_success.web.session import csrf_token

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.globals.update(csrf_token=csrf_token, fmt=formatting)
TEMPLATES.env.filters["combine"] = lambda base, extra: {**base, **extra}
SESSION_NOTICE = "notice"


def flash(request: Request, text: str) -> None:
    """Leave ``text`` for the next page this browser renders (after a redirect)."""
    request.session[SESSION_NOTICE] = text


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    """Render a page; a notice left by :func:`flash` is shown once, then forgotten."""
    notice = request.session.pop(SESSION_NOTICE, None) if "session" in request.scope else None
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"notice": notice, "status_code": status_code, **context},
        status_code=status_code,
    )


def safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a signed-in user to another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
