"""External ids: the customer's own id for a supplier, unique, matched when the id is omitted."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.factories import supplier
from wedsync_success.context import AppContext
from wedsync_success.suppliers.models import Supplier
from wedsync_success.web.app import create_app


def _without_id(**fields: Any) -> dict[str, Any]:
    body = supplier(**fields)
    del body["id"]
    return body


async def _post(client: httpx.AsyncClient, *bodies: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/suppliers", json={"suppliers": list(bodies)})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_an_external_id_matches_its_supplier_when_the_id_is_omitted(
    client: httpx.AsyncClient,
) -> None:
    created = await _post(client, _without_id(external_id="cus_001", business_name="Petal & Co"))
    assert (created["created"], created["updated"]) == (1, 0)
    sid = created["ids"][0]
    again = await _post(client, _without_id(external_id="cus_001", business_name="Petal and Co"))
    assert (again["created"], again["updated"], again["ids"]) == (0, 1, [sid])
    profile = (await client.get(f"/api/v1/suppliers/{sid}")).json()
    assert profile["external_id"] == "cus_001"
    assert profile["business_name"] == "Petal and Co"
    listed = (await client.get("/api/v1/suppliers", params={"sort": "name", "limit": 200})).json()
    assert {i["id"]: i["external_id"] for i in listed["items"]}[sid] == "cus_001"


async def test_an_update_by_id_keeps_or_changes_the_external_id(
    client: httpx.AsyncClient,
) -> None:
    body = supplier(external_id="acct-7")
    await _post(client, body)
    kept = {k: v for k, v in body.items() if k != "external_id"}
    assert (await _post(client, kept))["updated"] == 1
    sid = body["id"]
    assert (await client.get(f"/api/v1/suppliers/{sid}")).json()["external_id"] == "acct-7"
    await _post(client, body | {"external_id": "acct-7b"})
    assert (await client.get(f"/api/v1/suppliers/{sid}")).json()["external_id"] == "acct-7b"
    # The old one is free again: it now creates a new supplier.
    freed = await _post(client, _without_id(external_id="acct-7"))
    assert freed["created"] == 1
    assert freed["ids"] != [sid]


async def test_clashes_are_refused_item_by_item(client: httpx.AsyncClient) -> None:
    owner = supplier(external_id="taken")
    await _post(client, owner)
    by_id = {k: v for k, v in owner.items() if k != "external_id"}
    batch = [
        _without_id(external_id="twice"),
        _without_id(external_id="twice"),  # repeats item 0
        supplier(external_id="taken"),  # another supplier's id with its own uuid
        _without_id(external_id="taken"),  # matches the owner...
        by_id | {"business_name": "Renamed"},  # ...which this item also updates
        _without_id(external_id="fine"),
    ]
    result = await _post(client, *batch)
    assert (result["created"], result["updated"], result["rejected"]) == (2, 1, 3)
    reasons = {e["index"]: (e["field"], e["reason"]) for e in result["errors"]}
    assert reasons[1] == ("external_id", "repeats the external_id of item 0 in this batch")
    assert reasons[2][0] == "external_id"
    assert f"another supplier ({owner['id']})" in reasons[2][1]
    assert reasons[4] == (
        "external_id",
        "names the supplier that item 3 in this batch updates",
    )  # the item by external id came first, so the one by id is the repeat


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "must not be empty"),
        ("a/b", "must not contain '/'"),
        ("tab\there", "control character (U+0009)"),
        ("x" * 129, "longer than 128 characters"),
        ("nul\u0000", "NUL"),
    ],
)
async def test_bad_external_ids_name_the_field(
    client: httpx.AsyncClient, value: str, reason: str
) -> None:
    result = await _post(client, _without_id(external_id=value))
    assert result["rejected"] == 1
    error = result["errors"][0]
    assert error["field"] == "external_id"
    assert reason in error["reason"]


async def test_concurrent_writers_of_one_new_external_id_create_one_supplier(
    ctx: AppContext, api_keys: dict[str, str]
) -> None:
    app = create_app(context=ctx, run_dispatcher=False)
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers={"Authorization": f"Bearer {api_keys['admin']}"},
        )
        for _ in range(8)
    ]
    try:
        bodies = [
            [_without_id(external_id=f"race-{k}", business_name=f"Writer {w}") for k in range(5)]
            for w in range(len(clients))
        ]
        responses = await asyncio.gather(
            *(
                c.post("/api/v1/suppliers", json={"suppliers": b})
                for c, b in zip(clients, bodies, strict=True)
            )
        )
    finally:
        for c in clients:
            await c.aclose()
    assert [r.status_code for r in responses] == [200] * len(clients)
    results = [r.json() for r in responses]
    assert sum(r["created"] for r in results) == 5
    assert sum(r["updated"] for r in results) == 5 * (len(clients) - 1)
    async with ctx.db.sessions() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Supplier).where(Supplier.external_id.like("race-%"))
        )
    assert stored == 5


async def test_supplier_routes_take_the_external_id_in_place_of_the_id(
    client: httpx.AsyncClient,
) -> None:
    body = supplier(external_id="acct-42")
    await _post(client, body)
    sid = body["id"]
    # A customer whose billing ids are UUIDs: another supplier's external id looks like one.
    lookalike = supplier(external_id=str(sid))
    await _post(client, lookalike)
    by_id = (await client.get(f"/api/v1/suppliers/{sid}")).json()
    assert by_id["id"] == sid  # an id wins over an equal external id
    assert (await client.get("/api/v1/suppliers/acct-42")).json()["id"] == sid
    for path in ("health/history", "peers", "notes"):
        ours = await client.get(f"/api/v1/suppliers/acct-42/{path}")
        theirs = await client.get(f"/api/v1/suppliers/{sid}/{path}")
        assert ours.status_code == theirs.status_code == 200, ours.text
        assert ours.json() == theirs.json()
    missing = await client.get("/api/v1/suppliers/nobody-has-this")
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert "No supplier with id or external id 'nobody-has-this'" in error["message"]
    assert error["details"] == [{"field": "supplier_id", "reason": "names no supplier"}]
    unknown_uuid = await client.get(f"/api/v1/suppliers/{uuid.uuid4()}")
    assert unknown_uuid.status_code == 404
    assert "No supplier with id" in unknown_uuid.json()["error"]["message"]
