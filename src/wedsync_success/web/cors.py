"""Cross-origin access for the in-app widget's routes only.

The widget runs inside the supplier's own app, on another origin, and authenticates with a
bearer token rather than a cookie, so any origin may call its routes: a page without a
token gets nothing. Every other path keeps the browser's same-origin rule.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

WIDGET_PREFIX = "/widget/"


class WidgetCors:
    """CORS (any origin, no credentials, GET/POST with Authorization) under /widget/."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(WIDGET_PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
