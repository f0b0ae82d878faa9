"""Security headers on every response, and the 429 answer of rate limits.

One pure-ASGI middleware (no ``BaseHTTPMiddleware``: that re-streams every body) adds the
headers unless a route set its own. The Content-Security-Policy is chosen per path in one
place, :data:`CSP_BY_PATH`: every page gets the strict default (no inline script or style at
all) unless an entry there gives a path its own.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wedsync_success.access.ratelimit import RateDecision
from wedsync_success.config import Settings

STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PUBLIC_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
"""The pages anyone with a link from an email reaches (unsubscribe, a bad tracking link): a
stylesheet and a form posting back to itself, and no script at all."""
DEMO_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""The demo of a supplier's app: nothing but this app's own script, styles and widget calls
(no forms, no data: images), since it shows one supplier's messages without a sign-in."""
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
"""The self-contained monthly report: its styles are inline (the same file is emailed and
saved), and nothing else may load or run — no script, no request, no form."""
CSP_BY_PATH: Mapping[str, str] = {
    "/business/monthly.html": REPORT_CSP,
    "/u": PUBLIC_CSP,
    "/t": PUBLIC_CSP,
    "/demo/supplier-app": DEMO_CSP,
}
"""Path (itself and everything below it) → its own policy; every other path gets STRICT_CSP.
/docs starts Swagger UI from ``static/docs.js`` and needs no inline script or style. A page
that cannot do without (e.g. FastAPI's stock Swagger HTML, whose start-up script is inline)
gets its entry here, allowing that script by its hash."""
HSTS = "max-age=31536000; includeSubDomains"
RATE_LIMIT_STATE = "rate_limit"
"""``request.state`` key under which the API-key dependency leaves its :class:`RateDecision`."""


def csp_for(path: str, policies: Mapping[str, str] = CSP_BY_PATH) -> str:
    """The policy of the longest configured path that is ``path`` or a parent of it."""
    matches = [p for p in policies if path == p or path.startswith(p.rstrip("/") + "/")]
    return policies[max(matches, key=len)] if matches else STRICT_CSP


class SecurityHeaders:
    """Adds CSP, framing, sniffing, referrer and (with secure cookies) HSTS headers, and the
    RateLimit-* headers of the request's API key, to every HTTP response."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})  # the dict request.state writes into
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                wanted = {
                    "Content-Security-Policy": csp_for(path),
                    "X-Frame-Options": "DENY",
                    "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "strict-origin-when-cross-origin",
                    "Cross-Origin-Opener-Policy": "same-origin",
                }
                if self.hsts:
                    wanted["Strict-Transport-Security"] = HSTS
                decision = state.get(RATE_LIMIT_STATE)
                if isinstance(decision, RateDecision):
                    wanted.update(decision.headers())
                for name, value in wanted.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_security(app: FastAPI, settings: Settings) -> None:
    """Add the headers middleware (call it last: outermost)."""
    app.add_middleware(SecurityHeaders, hsts=settings.secure_cookies)
