"""Account owners: given through the API (an act key), in bulk; an owner is an enabled admin or
manager; ids that name no supplier are reported by position while the rest move; the list
filters by owner; concurrent assignments neither fail nor deadlock."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import create_supplier
from tests.workspace.helpers import member
from wedsync_success.access.models import TeamRole, TeamUser
from wedsync_success.context import AppContext
from wedsync_success.suppliers import repository

URL = "/api/v1/account-owners"


async def _owners(ctx: AppContext, ids: list[str]) -> dict[str, str | None]:
    async with ctx.db.sessions() as session:
        found = await repository.owners_of(session, [uuid.UUID(i) for i in ids])
    return {str(k): (str(v) if v else None) for k, v in found.items()}


@pytest.fixture
async def maya(ctx: AppContext) -> TeamUser:
    return await member(ctx, "Maya")


async def test_accounts_move_in_bulk_and_a_repeat_changes_nothing(
    ctx: AppContext, client: httpx.AsyncClient, maya: TeamUser
) -> None:
    ids = [await create_supplier(client) for _ in range(3)]
    body = {"supplier_ids": [ids[0], ids[1], ids[0]], "owner_id": str(maya.id)}
    first = await client.post(URL, json=body)
    assert first.status_code == 200, first.text
    assert first.json() | {"errors": []} == {
        "owner_id": str(maya.id),
        "owner_name": "Maya",
        "assigned": 2,  # the repeated id counts once
        "unchanged": 0,
        "rejected": 0,
        "errors": [],
    }
    again = (await client.post(URL, json=body)).json()
    assert (again["assigned"], again["unchanged"]) == (0, 2)
    assert await _owners(ctx, ids) == {ids[0]: str(maya.id), ids[1]: str(maya.id), ids[2]: None}

    nobody = (await client.post(URL, json={"supplier_ids": [ids[0]], "owner_id": None})).json()
    assert (nobody["assigned"], nobody["owner_name"]) == (1, None)
    assert (await _owners(ctx, [ids[0]]))[ids[0]] is None


async def test_an_unknown_supplier_is_reported_by_position_and_the_others_move(
    ctx: AppContext, client: httpx.AsyncClient, maya: TeamUser
) -> None:
    known = await create_supplier(client)
    missing = str(uuid.uuid4())
    response = await client.post(
        URL, json={"supplier_ids": [missing, known], "owner_id": str(maya.id)}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["assigned"], body["rejected"]) == (1, 1)
    assert body["errors"] == [
        {"index": 0, "key": missing, "field": "supplier_ids.0", "reason": "no such supplier"}
    ]
    assert (await _owners(ctx, [known]))[known] == str(maya.id)


@pytest.mark.parametrize("who", ["viewer", "disabled", "stranger"])
async def test_only_an_enabled_admin_or_manager_can_own_accounts(
    ctx: AppContext, client: httpx.AsyncClient, who: str
) -> None:
    sid = await create_supplier(client)
    owner_id = uuid.uuid4()
    if who == "viewer":
        owner_id = (await member(ctx, "Vera", role=TeamRole.VIEWER)).id
    elif who == "disabled":
        owner_id = (await member(ctx, "Dora", disabled=True)).id
    response = await client.post(URL, json={"supplier_ids": [sid], "owner_id": str(owner_id)})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["details"][0]["field"] == "owner_id"
    assert ("viewer" in error["message"]) == (who == "viewer")
    assert (await _owners(ctx, [sid]))[sid] is None  # nothing moved


async def test_assigning_takes_an_act_key(
    client: httpx.AsyncClient, api_keys: dict[str, str], maya: TeamUser
) -> None:
    sid = await create_supplier(client)
    body = {"supplier_ids": [sid], "owner_id": str(maya.id)}
    for scope, status in (("read", 403), ("ingest", 403), ("act", 200)):
        headers = {"Authorization": f"Bearer {api_keys[scope]}"}
        assert (await client.post(URL, json=body, headers=headers)).status_code == status


async def test_the_list_filters_by_owner_and_says_who_owns_each(
    client: httpx.AsyncClient, maya: TeamUser
) -> None:
    mine, other = await create_supplier(client), await create_supplier(client)
    await client.post(URL, json={"supplier_ids": [mine], "owner_id": str(maya.id)})

    owned = (
        await client.get("/api/v1/suppliers", params={"account_owner_id": str(maya.id)})
    ).json()
    assert [s["id"] for s in owned["items"]] == [mine]
    assert owned["items"][0]["account_owner_id"] == str(maya.id)
    unowned = (await client.get("/api/v1/suppliers", params={"unowned": "true"})).json()
    assert [s["id"] for s in unowned["items"]] == [other]
    both = await client.get(
        "/api/v1/suppliers", params={"unowned": "true", "account_owner_id": str(maya.id)}
    )
    assert both.status_code == 422
    assert both.json()["error"]["details"][0]["field"] == "unowned"
    profile = (await client.get(f"/api/v1/suppliers/{mine}")).json()
    assert profile["account_owner_id"] == str(maya.id)


async def test_concurrent_assignments_of_overlapping_accounts_all_land(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    ids = [await create_supplier(client) for _ in range(6)]
    team = [await member(ctx, name) for name in ("Maya", "Tom", "Ana", "Raj")]

    async def give(k: int) -> httpx.Response:
        chosen = ids[k % 3 : k % 3 + 4][::-1] if k % 2 else ids[k % 3 : k % 3 + 4]
        owner = team[k % len(team)]
        return await client.post(URL, json={"supplier_ids": chosen, "owner_id": str(owner.id)})

    answers = await asyncio.gather(*(give(k) for k in range(12)))
    assert [a.status_code for a in answers] == [200] * 12
    owners = await _owners(ctx, ids)
    assert set(owners.values()) <= {str(m.id) for m in team}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.none(),
        st.lists(st.integers()),
        st.dictionaries(
            st.sampled_from(["supplier_ids", "owner_id", "extra"]),
            st.one_of(
                st.none(),
                st.text(max_size=40),
                st.integers(),
                st.lists(st.one_of(st.text(max_size=40), st.uuids().map(str)), max_size=600),
            ),
        ),
    )
)
async def test_any_body_is_assigned_or_refused_naming_the_field(
    client: httpx.AsyncClient, body: Any
) -> None:
    sent = json.dumps(body)  # `null` too (json=None would send no body at all)
    response = await client.post(URL, content=sent, headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert response.json()["error"]["details"]
