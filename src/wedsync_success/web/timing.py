"""Request latency for Prometheus, by method, route template and status; and the last word
on a request that failed unexpectedly."""

from __future__ import annotations

import time

import structlog
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wedsync_success.web.errors import error_response

log = structlog.get_logger(__name__)

REQUEST_SECONDS = Histogram(
    "wedsync_http_request_seconds",
    "HTTP request latency by route.",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5),
)


class RequestTimer:
    """Times every HTTP request until its response is sent, labelled by route template.

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware``
    runs the app in a separate task and re-streams the response body, which cost every
    request about a millisecond.

    It also answers an unexpected exception itself, with the JSON 500, and does not let the
    exception go on. Starlette's ``ServerErrorMiddleware`` would send the same 500 and then
    re-raise, and uvicorn closes a connection whose app raised after responding: a client
    that reused the kept-alive connection for its next request found it closed with no
    response. Only an exception after the response started, with its body unfinished, still
    propagates: that connection cannot be reused.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_started = response_complete = False

        async def send_and_note_status(message: Message) -> None:
            nonlocal status, response_started, response_complete
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                response_complete = True
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        except Exception as exc:
            if response_started and not response_complete:
                raise
            log.exception("unhandled_error", error=repr(exc), path=scope.get("path"))
            if not response_started:
                status = 500
                response = error_response(500, "internal_error", "Something went wrong on our side")
                await response(scope, receive, send)
        finally:
            # The router records the matched route in the (shared) scope.
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUEST_SECONDS.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )
