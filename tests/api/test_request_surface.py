"""The request surface: media types, body limits, authentication before the body, query
parameters and cursors, 405 with Allow. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.factories import event, supplier
from tests.helpers import create_supplier
from wedsync_success.activity.models import ActivityEvent
from wedsync_success.context import AppContext
from wedsync_success.kit.pagination import MAX_CURSOR_CHARS
from wedsync_success.suppliers.models import Supplier

MiB = 1024 * 1024
BODY_ROUTES = ["/api/v1/events", "/api/v1/suppliers", "/api/v1/churn/predict"]


class CountingBody:
    """A request body streamed in chunks (sent chunked: no Content-Length), counting how
    many bytes the server actually pulled from it."""

    def __init__(self, prefix: bytes, *, size: int, suffix: bytes, chunk: int = 64 * 1024):
        self.prefix, self.suffix, self.size, self.chunk = prefix, suffix, size, chunk
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        padding = self.size - len(self.prefix) - len(self.suffix)
        parts = [self.prefix]
        parts += [b"x" * self.chunk] * (padding // self.chunk) + [b"x" * (padding % self.chunk)]
        parts.append(self.suffix)
        for part in parts:
            self.sent += len(part)
            yield part


def padded_event_batch(supplier_id: str, *, size: int) -> CountingBody:
    """One valid-looking event whose property is padded so the whole body is ``size`` bytes."""
    body = json.dumps([event(supplier_id, "login", _now(), properties={"pad": "@"})])
    prefix, suffix = body.encode().split(b"@")
    return CountingBody(prefix, size=size, suffix=suffix)


def _now() -> datetime:
    return datetime(2026, 6, 15, 11, 0, tzinfo=UTC)


async def stored_events(ctx: AppContext) -> int:
    async with ctx.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ActivityEvent)) or 0)


async def stored_suppliers(ctx: AppContext) -> int:
    async with ctx.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Supplier)) or 0)


# --- media type -------------------------------------------------------------------------


@pytest.mark.parametrize("route", BODY_ROUTES)
@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
async def test_a_body_not_sent_as_json_is_415_and_not_read(
    client: httpx.AsyncClient, ctx: AppContext, route: str, content_type: str | None
) -> None:
    sid = await create_supplier(client)
    body = json.dumps({"events": [event(sid, "login", _now())]}).encode()
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post(route, content=body, headers=headers)
    assert response.request.headers.get("content-type") == content_type
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert error["details"][0]["field"] == "Content-Type"
    assert await stored_events(ctx) == 0


async def test_json_with_a_utf8_charset_is_read(client: httpx.AsyncClient, ctx: AppContext) -> None:
    sid = await create_supplier(client)
    response = await client.post(
        "/api/v1/events",
        content=json.dumps([event(sid, "login", _now())]).encode(),
        headers={"content-type": "Application/JSON; charset=UTF-8"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    assert await stored_events(ctx) == 1


# --- body limit -------------------------------------------------------------------------


async def test_a_chunked_20_mb_body_is_cut_off_at_the_limit_and_nothing_is_stored(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await create_supplier(client)
    limit = ctx.settings.max_body_bytes
    body = padded_event_batch(sid, size=20 * MiB)
    response = await client.post(
        "/api/v1/events", content=body, headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers  # really chunked
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"
    assert body.sent <= limit + body.chunk, "the server read on past the limit"
    assert await stored_events(ctx) == 0


async def test_a_body_whose_content_length_lies_is_cut_off_at_the_limit(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await create_supplier(client)
    limit = ctx.settings.max_body_bytes
    body = padded_event_batch(sid, size=limit + MiB)
    response = await client.post(
        "/api/v1/events",
        content=body,
        headers={"content-type": "application/json", "content-length": "100"},
    )
    assert response.request.headers["content-length"] == "100"
    assert response.status_code == 413, response.text
    assert await stored_events(ctx) == 0


async def test_a_declared_length_over_the_limit_is_refused_before_reading(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await create_supplier(client)
    limit = ctx.settings.max_body_bytes
    body = padded_event_batch(sid, size=limit + 1)
    response = await client.post(
        "/api/v1/events",
        content=body,
        headers={"content-type": "application/json", "content-length": str(limit + 1)},
    )
    assert response.status_code == 413
    assert body.sent == 0


async def test_a_body_just_under_the_limit_is_read(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    """The limit is the configured figure, not something smaller: a body of exactly the limit
    is read (its one event is then rejected for its oversized property, not for the body)."""
    sid = await create_supplier(client)
    body = padded_event_batch(sid, size=ctx.settings.max_body_bytes)
    response = await client.post(
        "/api/v1/events", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] + response.json()["rejected"] == 1


# --- authentication before the body -----------------------------------------------------


@pytest.mark.parametrize("route", BODY_ROUTES)
@pytest.mark.parametrize("credentials", ["none", "wrong", "lacking scope"])
async def test_a_50_mb_body_from_a_client_without_the_right_key_is_never_read(
    client: httpx.AsyncClient,
    api_keys: dict[str, str],
    route: str,
    credentials: str,
) -> None:
    body = CountingBody(b'{"suppliers": ["', size=50 * MiB, suffix=b'"]}')
    headers = {"content-type": "application/json"}
    expected = 401
    if credentials == "wrong":
        headers["authorization"] = "Bearer not-a-key"
    elif credentials == "lacking scope":
        # /churn/predict needs only the read scope; an ingest key lacks it.
        scope = "ingest" if route.endswith("predict") else "read"
        headers["authorization"] = f"Bearer {api_keys[scope]}"
        expected = 403
    anonymous = httpx.AsyncClient(transport=client._transport, base_url="http://test")
    async with anonymous:
        response = await anonymous.post(route, content=body, headers=headers)
    assert response.status_code == expected, response.text
    assert body.sent == 0, f"{body.sent} bytes of the body were read before authentication"


# --- the body's container ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/api/v1/events", b"", "body"),
        ("/api/v1/events", b"{", "body"),
        ("/api/v1/events", b'"events"', "events"),
        ("/api/v1/events", b'{"events": {}}', "events"),
        ("/api/v1/events", b'{"events": [], "extra": 1}', "extra"),
        ("/api/v1/events", b"[" * 100_000 + b"]" * 100_000, "body"),
        ("/api/v1/suppliers", b"[]", "suppliers"),
        ("/api/v1/suppliers", b'{"suppliers": null}', "suppliers"),
        ("/api/v1/suppliers", b'{"suppliers": [], "x": 1}', "x"),
        ("/api/v1/churn/predict", b"[]", "body"),
        ("/api/v1/churn/predict", b'{"features": 3}', "features"),
        ("/api/v1/churn/predict", b"\xff\xfe", "body"),
    ],
)
async def test_a_malformed_body_is_422_naming_the_field(
    client: httpx.AsyncClient, route: str, body: bytes, field: str
) -> None:
    response = await client.post(route, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"] == field


# --- cursors ------------------------------------------------------------------------------


def token(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


SOME_ID = str(uuid.uuid4())
MALFORMED_CURSORS = {
    "number and non-uuid": ("score", token([50, "x"])),
    "text where a number goes": ("score", token(["50", SOME_ID])),
    "number where text goes": ("name", token([50, SOME_ID])),
    "boolean": ("score", token([True, SOME_ID])),
    "null": ("score", token([None, SOME_ID])),
    "NaN": ("score", token(b'[NaN, "' + SOME_ID.encode() + b'"]')),
    "Infinity": ("-score", token(b'[Infinity, "' + SOME_ID.encode() + b'"]')),
    "integer id": ("score", token([50, 12])),
    "too short": ("score", token([50])),
    "too long a list": ("score", token([50, SOME_ID, 1])),
    "an object": ("score", token({"score": 50, "id": SOME_ID})),
    "a nested list": ("name", token([["a"], SOME_ID])),
    "NUL in text": ("name", token(["a\x00b", SOME_ID])),
    "nested deeper than JSON can be read": ("score", token(b"[" * 1500)),
    "nested": ("score", token(b"[" * 700 + b"]" * 700)),
    "40 KB": ("score", token(["a" * 40_000, SOME_ID])),
    "not base64": ("score", "%%%"),
    "not JSON": ("score", token(b"\x80\x81 not json")),
}


@pytest.mark.parametrize("case", list(MALFORMED_CURSORS), ids=list(MALFORMED_CURSORS))
async def test_a_malformed_cursor_is_422_naming_the_parameter(
    client: httpx.AsyncClient, case: str
) -> None:
    sort, cursor = MALFORMED_CURSORS[case]
    response = await client.get("/api/v1/suppliers", params={"sort": sort, "cursor": cursor})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == ["cursor"]


def test_the_nested_cursors_fit_the_size_bound() -> None:
    """So those cases exercise the decoding, not the size check."""
    for case in ("nested deeper than JSON can be read", "nested"):
        assert len(MALFORMED_CURSORS[case][1]) <= MAX_CURSOR_CHARS


@pytest.mark.parametrize("sort", ["score", "-score", "name"])
async def test_cursors_the_api_makes_are_read_back(client: httpx.AsyncClient, sort: str) -> None:
    names = ["Ældre Blomster", "Bloom 🌸 & Vow " + "x" * 180, "Café Noir"]
    ids = {await create_supplier(client, business_name=name) for name in names}
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"sort": sort, "limit": 1}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/api/v1/suppliers", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)


# --- query parameters ---------------------------------------------------------------------

DAY_ROUTES = [
    ("GET", "/api/v1/reports/overview", "as_of"),
    ("GET", "/api/v1/suppliers/{sid}/health/history", "since"),
    ("GET", "/api/v1/suppliers/{sid}/health/history", "until"),
    ("GET", "/api/v1/suppliers/{sid}/churn", "as_of"),
    ("POST", "/api/v1/health/recompute", "as_of"),
]
BAD_DAYS = [
    "9999-12-31",
    "0001-01-01",
    "1999-12-31",
    "2100-01-01",
    "0.0",
    "0",
    "1e10",
    "20260101",
    "2026-1-1",
    "2026-02-30",
    "2026-06-15T00:00:00",
    "today",
]


@pytest.mark.parametrize(("method", "route", "param"), DAY_ROUTES)
@pytest.mark.parametrize("value", BAD_DAYS)
async def test_a_day_outside_the_window_or_not_yyyy_mm_dd_is_422_naming_it(
    client: httpx.AsyncClient, method: str, route: str, param: str, value: str
) -> None:
    route = route.format(sid=uuid.uuid4())  # parameters are checked before any lookup
    response = await client.request(method, route, params={param: value})
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["error"]["details"]] == [param]


@pytest.mark.parametrize("value", ["2000-01-01", "2026-02-28", "2099-12-31"])
async def test_days_inside_the_window_are_answered(client: httpx.AsyncClient, value: str) -> None:
    response = await client.get("/api/v1/reports/overview", params={"as_of": value})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"before": "9223372036854775808"}, "before"),
        ({"before": "-1"}, "before"),
        ({"before": "0"}, "before"),
        ({"before": "1.5"}, "before"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"type": "supplier.nonsense"}, "type"),
        ({"supplier_id": "not-a-uuid"}, "supplier_id"),
    ],
)
async def test_success_event_parameters_out_of_range_are_422_naming_them(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await client.get("/api/v1/success-events", params=params)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]


async def test_the_largest_sequence_is_a_valid_before(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/success-events", params={"before": str(2**63 - 1)})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "score; drop table"}, "sort"),
        ({"sort": "id"}, "sort"),
        ({"score_min": "nan"}, "score_min"),
        ({"score_max": "inf"}, "score_max"),
        ({"score_min": "-1"}, "score_min"),
        ({"cursor": "a" * (MAX_CURSOR_CHARS + 1)}, "cursor"),
        ({"risk_level": "doomed"}, "risk_level"),
    ],
)
async def test_supplier_listing_parameters_out_of_range_are_422_naming_them(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await client.get("/api/v1/suppliers", params=params)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]


# --- 405 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "route", "allowed"),
    [
        ("PUT", "/api/v1/suppliers", {"GET", "POST"}),
        ("DELETE", "/api/v1/events", {"POST"}),
        ("PATCH", "/api/v1/reports/overview", {"GET"}),
        ("POST", "/healthz", {"GET"}),
        ("POST", "/static/app.css", {"GET", "HEAD"}),
    ],
)
async def test_a_method_the_path_does_not_serve_is_405_with_allow(
    client: httpx.AsyncClient, method: str, route: str, allowed: set[str]
) -> None:
    response = await client.request(method, route)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_suppliers_posted_in_a_batch_are_stored_through_the_reader(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    response = await client.post(
        "/api/v1/suppliers", json={"suppliers": [supplier(), supplier(country="gb")]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
    assert response.json()["errors"][0]["index"] == 1
    assert await stored_suppliers(ctx) == 1
