"""Account owners in the dashboard: a manager's list opens on their own accounts, any owner view
is a click away, the list says how many suppliers match; accounts are given an owner from the
profile and in bulk from the list."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.helpers import create_supplier
from tests.web.signin import browser, csrf, log_in
from tests.workspace.helpers import PASSWORD, member
from wedsync_success.access.models import TeamRole, TeamUser
from wedsync_success.context import AppContext
from wedsync_success.suppliers import repository
from wedsync_success.suppliers import service as suppliers_service

HTML = {"accept": "text/html,application/xhtml+xml"}


async def _owner(ctx: AppContext, supplier_id: str) -> uuid.UUID | None:
    async with ctx.db.sessions() as session:
        return (await repository.owners_of(session, [uuid.UUID(supplier_id)]))[
            uuid.UUID(supplier_id)
        ]


def _listed(html: str) -> list[str]:
    """Supplier ids of the list's rows, in order."""
    return re.findall(r'<tr data-supplier="([^"]+)"', html)


def _count(html: str) -> int:
    found = re.search(r'id="match-count" data-total="(\d+)"', html)
    assert found, "no match count on the list"
    return int(found.group(1))


@pytest.fixture
async def maya(ctx: AppContext) -> TeamUser:
    return await member(ctx, "Maya")


@pytest.fixture
async def as_maya(ctx: AppContext, maya: TeamUser) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(ctx) as http:
        assert (await log_in(http, maya.email, PASSWORD)).status_code == 303
        yield http


async def test_a_managers_list_opens_on_my_accounts_and_any_owner_view_is_a_choice(
    ctx: AppContext, client: httpx.AsyncClient, maya: TeamUser, as_maya: httpx.AsyncClient
) -> None:
    tom = await member(ctx, "Tom")
    mine = await create_supplier(
        client, business_name="Maya's Florals", account_owner_id=str(maya.id)
    )
    toms = await create_supplier(client, business_name="Tom's Venue", account_owner_id=str(tom.id))
    nobodys = await create_supplier(client, business_name="Orphan Bakes")

    default = (await as_maya.get("/suppliers?sort=name")).text
    assert _listed(default) == [mine]
    assert _count(default) == 1
    assert "among your accounts" in default
    assert '<option value="mine" selected>My accounts</option>' in default
    assert re.search(rf'data-owner="{maya.id}">Maya<', default)

    everyone = (await as_maya.get("/suppliers?sort=name&owner=all")).text
    assert _listed(everyone) == [mine, nobodys, toms]  # by name
    assert _count(everyone) == 3
    assert "No owner" in everyone
    assert _listed((await as_maya.get("/suppliers?sort=name&owner=none")).text) == [nobodys]
    by_tom = (await as_maya.get(f"/suppliers?sort=name&owner={tom.id}")).text
    assert _listed(by_tom) == [toms]
    assert f'<option value="{tom.id}" selected>Tom</option>' in by_tom
    # sorting and paging links keep the owner view
    assert "owner=none" in (await as_maya.get("/suppliers?owner=none")).text.split("<thead>")[1]

    bad = await as_maya.get("/suppliers?owner=somebody", headers=HTML)
    assert bad.status_code == 422
    assert "owner must be mine, all, none" in bad.text


async def test_an_admins_list_opens_on_everyone_and_an_empty_my_accounts_says_where_to_look(
    ctx: AppContext, client: httpx.AsyncClient, as_maya: httpx.AsyncClient
) -> None:
    await create_supplier(client, business_name="Orphan Bakes")
    empty = (await as_maya.get("/suppliers?sort=name")).text
    assert _listed(empty) == []
    assert "None of your accounts matches" in empty
    assert "data-see-all" in empty

    admin = await member(ctx, "Ada", role=TeamRole.ADMIN)
    async with browser(ctx) as http:
        await log_in(http, admin.email, PASSWORD)
        listing = (await http.get("/suppliers?sort=name")).text
    assert len(_listed(listing)) == 1
    assert '<option value="all" selected>' in listing


async def test_the_count_says_how_many_match_and_how_many_the_order_leaves_out(
    client: httpx.AsyncClient, as_maya: httpx.AsyncClient
) -> None:
    for name in ("Alder Photo", "Birch Films", "Cedar Cakes"):
        await create_supplier(client, business_name=name, vendor_type="photographer")
    await create_supplier(client, business_name="Dune Band", vendor_type="band_dj")
    photographers = (
        await as_maya.get("/suppliers?owner=all&vendor_type=photographer&sort=score")
    ).text
    assert _count(photographers) == 3
    assert "<strong>3</strong> suppliers match these filters." in photographers
    # nobody has a churn prediction: the model's order lists none of them, and says why
    by_model = (await as_maya.get("/suppliers?owner=all&sort=-churn_probability")).text
    assert _listed(by_model) == []
    assert _count(by_model) == 4
    assert 'data-left-out="4"' in by_model
    assert "no churn prediction yet" in by_model
    assert "No supplier here is in this order yet" in by_model


async def test_an_account_is_given_an_owner_from_its_profile(
    ctx: AppContext, client: httpx.AsyncClient, maya: TeamUser, as_maya: httpx.AsyncClient
) -> None:
    tom = await member(ctx, "Tom")
    sid = await create_supplier(client, business_name="Lantern Hall")
    page = (await as_maya.get(f"/suppliers/{sid}")).text
    assert "Account owner: <strong data-owner-name>nobody yet</strong>" in page
    given = await as_maya.post(
        f"/suppliers/{sid}/owner", data={"csrf": csrf(page), "owner_id": str(tom.id)}
    )
    assert given.status_code == 303
    assert given.headers["location"] == f"/suppliers/{sid}#owner"
    assert await _owner(ctx, sid) == tom.id
    after = (await as_maya.get(f"/suppliers/{sid}")).text
    assert "Tom owns the account now." in after
    assert "<strong data-owner-name>Tom</strong>" in after

    released = await as_maya.post(
        f"/suppliers/{sid}/owner", data={"csrf": csrf(after), "owner_id": "none"}
    )
    assert released.status_code == 303
    assert await _owner(ctx, sid) is None


@pytest.mark.parametrize("owner", ["viewer", "not-an-id", "stranger"])
async def test_a_refused_owner_is_a_page_that_says_why_and_nothing_moves(
    ctx: AppContext, client: httpx.AsyncClient, as_maya: httpx.AsyncClient, owner: str
) -> None:
    sid = await create_supplier(client)
    chosen = {
        "viewer": str((await member(ctx, "Vera", role=TeamRole.VIEWER)).id),
        "not-an-id": "not-an-id",
        "stranger": str(uuid.uuid4()),
    }[owner]
    token = csrf((await as_maya.get(f"/suppliers/{sid}")).text)
    response = await as_maya.post(
        f"/suppliers/{sid}/owner", data={"csrf": token, "owner_id": chosen}, headers=HTML
    )
    assert response.status_code == 422
    assert "text/html" in response.headers["content-type"]
    assert "owner_id" in response.text
    assert await _owner(ctx, sid) is None


async def test_ticked_accounts_are_given_an_owner_in_bulk_from_the_list(
    ctx: AppContext, client: httpx.AsyncClient, maya: TeamUser, as_maya: httpx.AsyncClient
) -> None:
    tom = await member(ctx, "Tom")
    ids = [await create_supplier(client, business_name=f"Hall {n}") for n in range(3)]
    listing = (await as_maya.get("/suppliers?owner=all&sort=name")).text
    assert 'action="/suppliers/owner"' in listing
    assert listing.count('name="supplier_id"') == 3
    back = "/suppliers?owner=all&sort=name"
    moved = await as_maya.post(
        "/suppliers/owner",
        data={"csrf": csrf(listing), "owner_id": str(tom.id), "supplier_id": ids[:2], "next": back},
    )
    assert moved.status_code == 303
    assert moved.headers["location"] == back
    assert [await _owner(ctx, i) for i in ids] == [tom.id, tom.id, None]
    after = (await as_maya.get(back)).text
    assert "2 accounts given to Tom." in after

    token = csrf(after)
    nothing = await as_maya.post(
        "/suppliers/owner", data={"csrf": token, "owner_id": str(tom.id)}, headers=HTML
    )
    assert nothing.status_code == 422
    assert "tick at least one supplier" in nothing.text
    forged = await as_maya.post(
        "/suppliers/owner",
        data={"csrf": token, "owner_id": str(tom.id), "supplier_id": "x"},
        headers=HTML,
    )
    assert forged.status_code == 422
    assert [await _owner(ctx, i) for i in ids] == [tom.id, tom.id, None]


async def test_past_the_cap_the_count_says_more_than_and_counts_all_when_asked(
    client: httpx.AsyncClient, as_maya: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(suppliers_service, "COUNT_CAP", 2)
    for name in ("Alder Photo", "Birch Films", "Cedar Cakes"):
        await create_supplier(client, business_name=name)
    capped = (await as_maya.get("/suppliers?owner=all&sort=-churn_probability")).text
    assert "More than <strong>2</strong> suppliers match these filters" in capped
    assert 'data-exact="false"' in capped
    assert "data-left-out" not in capped  # a capped count cannot say how many are left out
    link = re.search(r'href="\?([^"]*count=all[^"]*)" data-count-all', capped)
    assert link, "no link to count them all"
    everything = (await as_maya.get(f"/suppliers?{link.group(1).replace('&amp;', '&')}")).text
    assert "<strong>3</strong> suppliers match these filters" in everything
    assert 'data-left-out="3"' in everything
