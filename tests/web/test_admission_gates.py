"""The admission middleware: which requests wait at which gate, what a refusal looks like, and
the settings that refuse gates larger than the database pool.

The middleware is tried on a small Starlette app whose routes wait for the test's signal, so
every wait is on a condition, never on the clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from wedsync_success.config import Settings
from wedsync_success.kit.admission import Admission
from wedsync_success.web.admission import AdmissionMiddleware, Gates, gate_name

HANG_GUARD = 60.0


async def until(condition: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0)

    await asyncio.wait_for(poll(), HANG_GUARD)


class Held:
    """A route that stays open until the test lets it go."""

    def __init__(self) -> None:
        self.inside = 0
        self.leave = asyncio.Event()

    async def endpoint(self, _request: Request) -> PlainTextResponse:
        self.inside += 1
        await self.leave.wait()
        return PlainTextResponse("done")


@pytest.fixture
def held() -> Held:
    return Held()


@pytest.fixture
async def gated(held: Held) -> AsyncIterator[tuple[httpx.AsyncClient, Gates]]:
    gates = Gates(
        ingest=Admission(limit=1, timeout_seconds=HANG_GUARD, max_waiting=0),
        requests=Admission(limit=1, timeout_seconds=HANG_GUARD, max_waiting=1),
    )

    async def quick(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("quick")

    app = Starlette(
        routes=[
            Route("/api/v1/suppliers/held", held.endpoint),
            Route("/api/v1/events", held.endpoint, methods=["POST"]),
            Route("/api/v1/suppliers", quick),
            Route("/healthz", quick),
            Route("/live", quick),
            Route("/static/app.css", quick),
        ]
    )
    app.add_middleware(AdmissionMiddleware, gates=gates)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        yield client, gates


@pytest.mark.parametrize(
    ("method", "path", "headers", "gate"),
    [
        ("POST", "/api/v1/events", [], "ingest"),
        ("POST", "/api/v1/events/", [], "ingest"),
        ("POST", "/api/v1/suppliers", [], "ingest"),
        ("POST", "/api/v1/surveys/responses", [], "ingest"),
        ("GET", "/api/v1/events", [], "requests"),  # reading events is a read
        ("GET", "/api/v1/suppliers/abc", [], "requests"),
        ("GET", "/", [], "requests"),
        ("GET", "/live", [], "stream"),
        ("GET", "/healthz", [], None),
        ("GET", "/readyz", [], None),
        ("GET", "/metrics", [], None),
        ("GET", "/static/app.css", [], None),
        ("GET", "/api/v1/stream", [(b"accept", b"text/event-stream")], "stream"),
    ],
)
def test_each_request_waits_at_its_gate(
    method: str, path: str, headers: list[tuple[bytes, bytes]], gate: str | None
) -> None:
    assert gate_name({"type": "http", "method": method, "path": path, "headers": headers}) == gate


async def test_a_full_request_queue_is_refused_at_once_in_the_api_error_shape(
    gated: tuple[httpx.AsyncClient, Gates], held: Held
) -> None:
    client, gates = gated
    first = asyncio.create_task(client.get("/api/v1/suppliers/held"))
    await until(lambda: held.inside == 1)
    second = asyncio.create_task(client.get("/api/v1/suppliers/held"))
    await until(lambda: gates.requests.waiting == 1)
    refused = await client.get("/api/v1/suppliers")
    # Not gated: a busy process still answers its liveness probe and serves its files.
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/static/app.css")).status_code == 200
    # The ingest gate is separate: a write is not refused because reads are queued.
    assert gates.ingest.active == 0
    held.leave.set()
    assert [r.status_code for r in await asyncio.gather(first, second)] == [200, 200]
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    assert refused.json() == {
        "error": {
            "code": "service_unavailable",
            "message": "The service is busy serving other requests; try again shortly",
            "details": [{"field": "requests", "reason": "requests queue full"}],
        }
    }
    assert gates.requests.active == 0  # every place given back


async def test_a_request_waiting_past_its_timeout_is_refused(held: Held) -> None:
    gates = Gates(
        ingest=Admission(limit=1, timeout_seconds=HANG_GUARD),
        requests=Admission(limit=1, timeout_seconds=0, max_waiting=10),
    )
    app = Starlette(routes=[Route("/held", held.endpoint)])
    app.add_middleware(AdmissionMiddleware, gates=gates)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        first = asyncio.create_task(client.get("/held"))
        await until(lambda: held.inside == 1)
        late = await client.get("/held")
        held.leave.set()
        assert (await first).status_code == 200
    assert late.status_code == 503
    assert late.json()["error"]["details"] == [
        {"field": "requests", "reason": "requests queue wait timed out"}
    ]


async def test_reads_go_on_while_the_ingest_gate_is_saturated(
    gated: tuple[httpx.AsyncClient, Gates], held: Held
) -> None:
    client, gates = gated
    ingest = asyncio.create_task(client.post("/api/v1/events"))
    await until(lambda: held.inside == 1)
    refused = await client.post("/api/v1/events")  # ingest: one in, a queue of none
    read = await client.get("/api/v1/suppliers")
    held.leave.set()
    assert (await ingest).status_code == 200
    assert refused.status_code == 503
    assert refused.json()["error"]["details"] == [
        {"field": "ingest", "reason": "ingest queue full"}
    ]
    assert read.status_code == 200
    assert read.text == "quick"
    assert gates.ingest.active == gates.requests.active == 0


# Settings.


def test_the_default_gates_fit_the_default_pool() -> None:
    settings = Settings()
    assert (
        settings.request_concurrency + settings.ingest_concurrency
        <= settings.database_pool_size + settings.database_max_overflow
    )


@pytest.mark.parametrize(
    "env",
    [
        {"WEDSYNC_REQUEST_CONCURRENCY": "40"},
        {"WEDSYNC_DATABASE_POOL_SIZE": "5", "WEDSYNC_DATABASE_MAX_OVERFLOW": "0"},
        {"WEDSYNC_INGEST_CONCURRENCY": "10", "WEDSYNC_DATABASE_MAX_OVERFLOW": "0"},
    ],
)
def test_gates_larger_than_the_pool_are_refused_naming_the_settings(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    message = str(refused.value)
    for name in (
        "WEDSYNC_REQUEST_CONCURRENCY",
        "WEDSYNC_INGEST_CONCURRENCY",
        "WEDSYNC_DATABASE_POOL_SIZE",
        "WEDSYNC_DATABASE_MAX_OVERFLOW",
    ):
        assert name in message
    assert "Lower the concurrency or raise the pool" in message


def test_gates_that_exactly_fit_the_pool_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEDSYNC_DATABASE_POOL_SIZE", "10")
    monkeypatch.setenv("WEDSYNC_DATABASE_MAX_OVERFLOW", "0")
    monkeypatch.setenv("WEDSYNC_REQUEST_CONCURRENCY", "4")
    monkeypatch.setenv("WEDSYNC_INGEST_CONCURRENCY", "2")  # 4 + 2 + 4 background = 10
    settings = Settings()
    assert settings.database_pool_size == 10


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEDSYNC_REQUEST_QUEUE_LIMIT", "-1"),
        ("WEDSYNC_INGEST_QUEUE_LIMIT", "-1"),
        ("WEDSYNC_REQUEST_CONCURRENCY", "0"),
        ("WEDSYNC_REQUEST_QUEUE_TIMEOUT_SECONDS", "-1"),
        ("WEDSYNC_DATABASE_POOL_SIZE", "0"),
    ],
)
def test_out_of_range_gate_settings_name_the_field(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert refused.value.errors()[0]["loc"] == (name.removeprefix("WEDSYNC_").lower(),)


async def test_a_live_stream_holds_its_place_only_until_its_response_starts(
    held: Held,
) -> None:
    # Raw ASGI: httpx's in-process transport would wait for the whole (endless) body.
    gates = Gates(
        ingest=Admission(limit=1, timeout_seconds=HANG_GUARD),
        requests=Admission(limit=1, timeout_seconds=HANG_GUARD),
    )
    began = asyncio.Event()
    seen_inside: list[int] = []

    async def stream(scope: Scope, receive: Receive, send: Send) -> None:
        seen_inside.append(gates.requests.active)  # the sign-in check runs holding a place
        await send({"type": "http.response.start", "status": 200, "headers": []})
        began.set()
        await held.leave.wait()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: Message) -> None:
        return None

    middleware = AdmissionMiddleware(stream, gates=gates)
    scope = {"type": "http", "method": "GET", "path": "/live", "headers": []}
    open_stream = asyncio.create_task(middleware(scope, receive, send))
    await asyncio.wait_for(began.wait(), HANG_GUARD)
    assert seen_inside == [1]
    assert gates.requests.active == 0  # open for hours, and the place is free again
    held.leave.set()
    await open_stream
    assert gates.requests.active == 0  # given back once, not twice


async def test_a_live_stream_is_refused_while_the_requests_queue_is_full(
    gated: tuple[httpx.AsyncClient, Gates], held: Held
) -> None:
    client, gates = gated
    first = asyncio.create_task(client.get("/api/v1/suppliers/held"))
    await until(lambda: held.inside == 1)
    second = asyncio.create_task(client.get("/api/v1/suppliers/held"))
    await until(lambda: gates.requests.waiting == 1)
    refused = await client.get("/live")  # its sign-in check would need a connection too
    held.leave.set()
    await asyncio.gather(first, second)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
