"""POST /api/v1/surveys/responses: validation per kind, per-item errors, idempotency on
response_id (also under concurrency), scopes, and the low-score success events."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.helpers import create_supplier
from wedsync_success.context import AppContext
from wedsync_success.events.models import OutboxEvent
from wedsync_success.surveys.models import SurveyResponse

URL = "/api/v1/surveys/responses"


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def response(supplier_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "response_id": f"r-{uuid.uuid4()}",
        "kind": "nps",
        "score": 9,
        "supplier_id": supplier_id,
        "responded_at": "2026-06-10T10:00:00Z",
    }
    body.update(overrides)
    return body


async def _count(ctx: AppContext) -> int:
    async with ctx.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(SurveyResponse)) or 0)


async def _events(ctx: AppContext) -> list[OutboxEvent]:
    async with ctx.db.sessions() as session:
        rows = await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.event_type.like("survey.%"))
            .order_by(OutboxEvent.id)
        )
        return list(rows)


@pytest.mark.parametrize(
    ("kind", "score", "ok"),
    [
        ("nps", 0, True),
        ("nps", 10, True),
        ("nps", 11, False),
        ("nps", -1, False),
        ("csat", 1, True),
        ("csat", 5, True),
        ("csat", 0, False),
        ("csat", 6, False),
        ("csat", "4", False),  # a score is a JSON number, not text
        ("nps", True, False),
        ("nps", 7.5, False),
    ],
)
async def test_scores_are_validated_per_kind(
    client: httpx.AsyncClient, kind: str, score: Any, ok: bool
) -> None:
    supplier_id = await create_supplier(client)
    answer = await client.post(URL, json=[response(supplier_id, kind=kind, score=score)])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["accepted"], body["rejected"]) == ((1, 0) if ok else (0, 1))
    if not ok:
        assert body["errors"][0]["field"] == "score"


async def test_bad_items_are_rejected_alone_naming_their_field(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    supplier_id = await create_supplier(client, external_id="cus_ext_1")
    other = await create_supplier(client)
    async with ctx.db.sessions() as session:
        from wedsync_success.suppliers.models import SupplierUser

        other_user = await session.scalar(
            select(SupplierUser.id).where(SupplierUser.supplier_id == uuid.UUID(other))
        )
    items = [
        response(supplier_id, response_id="good-1", comment="Lovely forms"),
        response(supplier_id, response_id="bad-comment", comment="x" * 2001),
        response(supplier_id, response_id="nul", comment="bad\u0000text"),
        response(supplier_id, response_id="future", responded_at="2026-06-16T12:00:00Z"),
        response(str(uuid.uuid4()), response_id="nobody"),
        {
            **response(supplier_id, response_id="by-ext"),
            "supplier_id": None,
            "supplier_external_id": "cus_ext_1",
        },
        {
            **response(supplier_id, response_id="unknown-ext"),
            "supplier_id": None,
            "supplier_external_id": "cus_nobody",
        },
        response(supplier_id, response_id="wrong-user", supplier_user_id=str(other_user)),
        response(supplier_id, response_id="no-tz", responded_at="2026-06-10T10:00:00"),
        {**response(supplier_id, response_id="extra"), "colour": "blue"},
        response(supplier_id, response_id="bad-kind", kind="ces"),
        "not an object",
    ]
    answer = await client.post(URL, json={"responses": items})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] == 2
    fields = {e["key"] or str(e["index"]): e["field"] for e in body["errors"]}
    assert fields == {
        "bad-comment": "comment",
        "nul": "comment",
        "future": "responded_at",
        "nobody": "supplier_id",
        "unknown-ext": "supplier_external_id",
        "wrong-user": "supplier_user_id",
        "no-tz": "responded_at",
        "extra": "colour",
        "bad-kind": "kind",
        "11": "",
    }
    assert body["rejected"] == 10
    assert await _count(ctx) == 2


async def test_a_response_id_is_stored_once_and_repeats_count_as_duplicates(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    supplier_id = await create_supplier(client)
    item = response(supplier_id, response_id="tool-42", score=3)
    first = (await client.post(URL, json=[item, item])).json()
    again = (await client.post(URL, json=[{**item, "score": 10}])).json()
    assert (first["accepted"], first["duplicates"], first["low_scores"]) == (1, 1, 1)
    assert (again["accepted"], again["duplicates"], again["low_scores"]) == (0, 1, 0)
    async with ctx.db.sessions() as session:
        stored = await session.scalar(select(SurveyResponse))
    assert stored is not None
    assert (stored.score, stored.source) == (3, "api")  # the first one counts
    assert len(await _events(ctx)) == 1


async def test_the_same_response_posted_concurrently_counts_once(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    supplier_id = await create_supplier(client)
    item = response(supplier_id, response_id="race", kind="csat", score=1)
    answers = await asyncio.gather(*(client.post(URL, json=[item]) for _ in range(8)))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert sorted(a.json()["accepted"] for a in answers) == [0] * 7 + [1]
    assert await _count(ctx) == 1
    events = await _events(ctx)
    assert [e.event_type for e in events] == ["survey.csat_low"]


async def test_low_scores_are_success_events_in_the_outbox(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    supplier_id = await create_supplier(client)
    items = [
        response(supplier_id, response_id="d6", score=6, comment="Too pricey"),
        response(supplier_id, response_id="p7", score=7),
        response(supplier_id, response_id="c2", kind="csat", score=2),
        response(supplier_id, response_id="c3", kind="csat", score=3),
        response(supplier_id, response_id="p0", score=0),
    ]
    body = (await client.post(URL, json=items)).json()
    assert (body["accepted"], body["low_scores"]) == (5, 3)
    events = {e.payload["response_id"]: e for e in await _events(ctx)}
    assert sorted(events) == ["c2", "d6", "p0"]
    assert events["d6"].event_type == "survey.detractor"
    assert events["d6"].supplier_id == uuid.UUID(supplier_id)
    assert events["d6"].payload["score"] == 6
    assert events["d6"].payload["comment"] == "Too pricey"
    assert events["c2"].event_type == "survey.csat_low"


async def test_scopes(client: httpx.AsyncClient, api_keys: dict[str, str]) -> None:
    supplier_id = await create_supplier(client)
    body = [response(supplier_id)]
    assert (await client.post(URL, json=body, headers=_as(api_keys["read"]))).status_code == 403
    assert (await client.post(URL, json=body, headers=_as(api_keys["inapp"]))).status_code == 403
    assert (await client.post(URL, json=body, headers=_as(api_keys["ingest"]))).status_code == 200
    assert (await client.post(URL, json=body, headers={"Authorization": ""})).status_code == 401
    assert (await client.get(URL, headers=_as(api_keys["ingest"]))).status_code == 403
    listed = await client.get(URL, headers=_as(api_keys["read"]))
    assert listed.status_code == 200
    assert [r["response_id"] for r in listed.json()] == [body[0]["response_id"]]
    for path in ("/api/v1/reports/nps", "/api/v1/reports/csat"):
        query = "?from=2026-01-01&to=2026-07-01"
        assert (await client.get(path + query, headers=_as(api_keys["ingest"]))).status_code == 403
        assert (await client.get(path + query, headers=_as(api_keys["read"]))).status_code == 200
    ask = f"/api/v1/suppliers/{supplier_id}/surveys"
    assert (
        await client.post(ask, json={"kind": "nps"}, headers=_as(api_keys["read"]))
    ).status_code == 403


async def test_container_errors_and_batch_limit(client: httpx.AsyncClient) -> None:
    assert (await client.post(URL, json={"items": []})).status_code == 422
    assert (
        await client.post(URL, content=b"{", headers={"Content-Type": "application/json"})
    ).status_code == 422
    assert (
        await client.post(URL, content=b"[]", headers={"Content-Type": "text/csv"})
    ).status_code == 415
