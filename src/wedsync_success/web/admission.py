"""Admission control for the API: ingests and reads wait at separate gates, before any work.

Each process has two FIFO gates (:class:`~wedsync_success.kit.admission.Admission`):

- ``ingest``: bulk writes (``POST /api/v1/events``, ``/suppliers``, ``/surveys/responses``),
  at most ``WEDSYNC_INGEST_CONCURRENCY`` at once, ``WEDSYNC_INGEST_QUEUE_LIMIT`` waiting;
- ``requests``: every other API and dashboard request, at most
  ``WEDSYNC_REQUEST_CONCURRENCY`` at once, ``WEDSYNC_REQUEST_QUEUE_LIMIT`` waiting.

Why: without them a burst of ingests held every pooled database connection and reads queued
behind them inside the pool (one worker at 1,000 users: p99 46 s at a quarter of a core).
The settings refuse gates larger than the pool, so a request let in always finds a
connection, and a request waiting at a gate holds none (it has not authenticated yet). A full
queue, or a wait past its timeout, is answered at once with the API's one error shape: 503,
``service_unavailable``, ``Retry-After``.

Left out: liveness, readiness and metrics (a busy process must still say it is alive) and
static files. Server-Sent Events (``/live``, ``Accept: text/event-stream``) hold a place only
until their response starts: the sign-in check before the stream reads the database (5,000
listeners connecting at once otherwise took every pooled connection), the stream itself
stays open for hours and holds no connection while it waits.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wedsync_success.config import Settings
from wedsync_success.kit.admission import Admission, AdmissionQueueFull, AdmissionTimeout
from wedsync_success.web.errors import error_response

INGEST_ROUTES = frozenset(
    {
        ("POST", "/api/v1/events"),
        ("POST", "/api/v1/suppliers"),
        ("POST", "/api/v1/surveys/responses"),
    }
)
"""The bulk writes that go through the ``ingest`` gate (method, path)."""
UNGATED_PATHS = frozenset({"/healthz", "/metrics", "/readyz"})
UNGATED_PREFIXES = ("/static/",)
STREAM_PATHS = frozenset({"/live"})
"""Live streams (as any ``Accept: text/event-stream`` request): gated until they start."""
RETRY_AFTER_SECONDS = 1


@dataclass(frozen=True)
class Gates:
    """This process's two gates (``app.state.ingest_admission`` is ``ingest``)."""

    ingest: Admission
    requests: Admission

    @classmethod
    def from_settings(cls, settings: Settings) -> Gates:
        return cls(
            ingest=Admission(
                limit=settings.ingest_concurrency,
                timeout_seconds=settings.ingest_queue_timeout_seconds,
                max_waiting=settings.ingest_queue_limit,
            ),
            requests=Admission(
                limit=settings.request_concurrency,
                timeout_seconds=settings.request_queue_timeout_seconds,
                max_waiting=settings.request_queue_limit,
            ),
        )


def _wants_event_stream(scope: Scope) -> bool:
    return any(
        name == b"accept" and b"text/event-stream" in value
        for name, value in scope.get("headers", ())
    )


def gate_name(scope: Scope) -> str | None:
    """Which gate a request waits at: ``ingest``, ``requests`` (``stream``: the requests gate
    until the response starts), or ``None`` (not gated)."""
    path: str = scope["path"]
    if path in UNGATED_PATHS or path.startswith(UNGATED_PREFIXES):
        return None
    if path in STREAM_PATHS or _wants_event_stream(scope):
        return "stream"
    return "ingest" if (scope["method"], path.rstrip("/")) in INGEST_ROUTES else "requests"


class AdmissionMiddleware:
    """Plain ASGI (see ``web.timing`` for why not ``BaseHTTPMiddleware``): a request holds its
    gate's place until its response is sent."""

    def __init__(self, app: ASGIApp, *, gates: Gates) -> None:
        self.app = app
        self.gates = gates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = gate_name(scope) if scope["type"] == "http" else None
        stream = name == "stream"
        if name is None:
            await self.app(scope, receive, send)
            return
        gate = self.gates.ingest if name == "ingest" else self.gates.requests
        name = "ingest" if name == "ingest" else "requests"
        try:
            await gate.acquire()
        except (AdmissionQueueFull, AdmissionTimeout) as exc:
            full = isinstance(exc, AdmissionQueueFull)
            reason = f"{name} queue {'full' if full else 'wait timed out'}"
            what = "ingesting other batches" if name == "ingest" else "serving other requests"
            refusal = error_response(
                503,
                "service_unavailable",
                f"The service is busy {what}; try again shortly",
                [{"field": name, "reason": reason}],
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
            await refusal(scope, receive, send)
            return
        held = True

        def give_back() -> None:
            nonlocal held
            if held:
                held = False
                gate.release()

        async def send_and_release_on_start(message: Message) -> None:
            if message["type"] == "http.response.start":
                give_back()
            await send(message)

        try:
            await self.app(scope, receive, send_and_release_on_start if stream else send)
        finally:
            give_back()
