"""POST /api/v1/suppliers with input the storage cannot hold: each bad supplier is refused
alone, by field and reason; the good ones are stored; nothing answers 500."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.factories import supplier
from wedsync_success.context import AppContext
from wedsync_success.kit.limits import MAX_AMOUNT_MINOR
from wedsync_success.suppliers.models import Supplier, SupplierUser

LIBRARY_WORDING = ("Value error", "instance of", "pydantic", "Input should")


async def post_raw(client: httpx.AsyncClient, items: list[str]) -> httpx.Response:
    body = '{"suppliers": [' + ", ".join(items) + "]}"
    return await client.post(
        "/api/v1/suppliers", content=body.encode(), headers={"content-type": "application/json"}
    )


async def stored(ctx: AppContext) -> set[str]:
    async with ctx.db.sessions() as session:
        return {str(i) for i in await session.scalars(select(Supplier.id))}


def reasons_of(response: httpx.Response) -> dict[int, tuple[str, str]]:
    assert response.status_code == 200, response.text
    errors = response.json()["errors"]
    for error in errors:
        assert not any(w in error["reason"] for w in LIBRARY_WORDING), error
    return {e["index"]: (e["field"], e["reason"]) for e in errors}


async def test_unstorable_text_is_refused_per_supplier(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    good = supplier()
    items = [
        json.dumps(supplier(business_name="Bloom\u0000 & Vow")),
        json.dumps(good),
        json.dumps(supplier(business_name="Bloom \ud800")),
        json.dumps(supplier(users=[{"email": "ada@example.com", "name": "Ada\u0000"}])),
        json.dumps(supplier(users=[{"email": "ada\ud800@example.com", "name": "Ada"}])),
        json.dumps(supplier(cancellation_reason="\u0000")),
        json.dumps(supplier(id="\ud800")),
    ]
    reasons = reasons_of(await post_raw(client, items))
    assert reasons[0] == (
        "business_name",
        "contains a NUL character (\\u0000), which cannot be stored",
    )
    assert reasons[2] == (
        "business_name",
        "is not valid Unicode text (it holds a lone surrogate)",
    )
    assert reasons[3][0] == "users.0.name"
    assert reasons[4][0] == "users.0.email"
    assert reasons[5][0] == "cancellation_reason"
    assert reasons[6][0] == "id"
    assert await stored(ctx) == {good["id"]}


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"mrr_minor": 2**70}, "mrr_minor"),
        ({"mrr_minor": MAX_AMOUNT_MINOR + 1}, "mrr_minor"),
        ({"signed_up_at": "0001-01-01T00:00:00+14:00"}, "signed_up_at"),
        ({"signed_up_at": "9999-12-31T23:59:59-14:00"}, "signed_up_at"),
        ({"signed_up_at": 1700000000}, "signed_up_at"),
        ({"subscription_started_at": "1970-01-01T00:00:00Z"}, "subscription_started_at"),
        ({"business_name": "x" * 201}, "business_name"),
        ({"users": [{"email": "a@example.com", "name": "A"}] * 51}, "users"),
    ],
)
async def test_out_of_range_values_are_refused(
    client: httpx.AsyncClient, ctx: AppContext, override: dict[str, Any], field: str
) -> None:
    good = supplier()
    response = await client.post(
        "/api/v1/suppliers", json={"suppliers": [supplier(**override), good]}
    )
    assert reasons_of(response)[0][0] == field
    assert await stored(ctx) == {good["id"]}


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_nan_and_infinity_are_refused_per_supplier(
    client: httpx.AsyncClient, ctx: AppContext, literal: str
) -> None:
    good = supplier()
    bad = json.dumps(supplier()).replace('"mrr_minor": 4900', f'"mrr_minor": {literal}')
    reasons = reasons_of(await post_raw(client, [bad, json.dumps(good)]))
    assert reasons[0][0] == "mrr_minor"
    assert reasons[0][1] in (
        "must be a whole number",
        "must be a finite number, not NaN or Infinity",
    )
    assert await stored(ctx) == {good["id"]}


async def test_user_ids_that_collide_are_refused_not_a_500(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    """Two users with one id (in one supplier or two), or a user id already another
    supplier's, would fail the users' primary key for the whole batch."""
    taken = supplier()
    assert (await client.post("/api/v1/suppliers", json={"suppliers": [taken]})).json()[
        "created"
    ] == 1
    async with ctx.db.sessions() as session:
        taken_user = str(await session.scalar(select(SupplierUser.id)))
    shared = str(uuid.uuid4())
    good = supplier()
    user = {"email": "u@example.com", "name": "U"}
    batch = [
        supplier(users=[user | {"id": shared}, user | {"id": shared, "email": "v@example.com"}]),
        good,
        supplier(users=[user | {"id": taken_user}]),
        supplier(users=[user | {"id": str(uuid.uuid4())}]),
        taken | {"business_name": "Renamed", "users": [user | {"id": taken_user}]},
    ]
    response = await client.post("/api/v1/suppliers", json={"suppliers": batch})
    reasons = reasons_of(response)
    assert reasons == {
        0: ("users.1.id", "repeats the id of another user in this batch"),
        2: ("users.0.id", "is the id of a user of another supplier"),
    }
    assert response.json()["updated"] == 1
    assert await stored(ctx) == {taken["id"], good["id"], batch[3]["id"]}


async def test_two_users_with_one_email_are_refused_not_a_500(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    """Users are matched to the stored ones by email, so two with one email (in any case)
    would both claim the same stored user and fail the upsert of the whole batch."""
    known = supplier(users=[{"email": "ada@example.com", "name": "Ada"}])
    assert (await client.post("/api/v1/suppliers", json={"suppliers": [known]})).json()[
        "created"
    ] == 1
    twins = [{"email": "ada@example.com", "name": "Ada"}, {"email": "ADA@example.com", "name": "A"}]
    good = supplier()
    response = await client.post(
        "/api/v1/suppliers", json={"suppliers": [known | {"users": twins}, good]}
    )
    assert reasons_of(response) == {0: ("users", "users 0 and 1 have the same email")}
    assert response.json()["created"] == 1
    async with ctx.db.sessions() as session:
        emails = await session.scalars(
            select(SupplierUser.email).where(SupplierUser.supplier_id == uuid.UUID(known["id"]))
        )
        assert list(emails) == ["ada@example.com"]


async def test_a_supplier_repeated_in_one_batch_is_refused_after_its_first(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    first = supplier()
    again = first | {"business_name": "Second"}
    response = await client.post("/api/v1/suppliers", json={"suppliers": [first, again]})
    assert reasons_of(response) == {1: ("id", "repeats the id of item 0 in this batch")}
    assert response.json()["created"] == 1
    assert response.json()["ids"] == [first["id"]]
