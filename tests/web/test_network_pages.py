"""The dashboard's Network page: top connectors (paged, names escaped), a supplier's
referral tree, the links from the nav and the supplier page."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from tests.web.signin import add_user, log_in
from wedsync_success.context import AppContext
from wedsync_success.pipeline import rescore_all
from wedsync_success.web import referral_pages


@pytest.fixture
async def signed_in(client: httpx.AsyncClient, ctx: AppContext) -> httpx.AsyncClient:
    await add_user(ctx)
    assert (await log_in(client)).status_code == 303
    return client


async def _network(client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock) -> list[str]:
    """Root refers two suppliers, the first refers one more, and Root invites one more."""
    names = ["Root <Florals>", "Child One", "Child Two", "Grandchild"]
    ids = [await create_supplier(client, business_name=n) for n in names]
    at = clock.now - timedelta(days=1)

    def joined(referrer: int, referee: int) -> dict[str, object]:
        props = {"referred": f"r{referee}@x.example", "referred_supplier_id": ids[referee]}
        return event(ids[referrer], "referral_converted", at, properties=props)

    invited = event(ids[0], "referral_sent", at, properties={"referred": "maybe@x.example"})
    await ingest(client, [joined(0, 1), joined(0, 2), joined(1, 3), invited])
    async with ctx.db.transaction() as session:
        await rescore_all(session=session, ctx=ctx, as_of=clock.now.date())
    return ids


async def test_the_network_page_lists_top_connectors(
    signed_in: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    ids = await _network(signed_in, ctx, clock)
    response = await signed_in.get("/network")
    assert response.status_code == 200
    html = response.text
    assert '<a href="/network" aria-current="page">Network</a>' in html
    rows = re.findall(r'<tr data-connector="([0-9a-f-]{36})">', html)
    assert rows[0] == ids[0]  # the root of the chain ranks first
    assert sorted(rows) == sorted(ids)
    assert "Root &lt;Florals&gt;" in html  # names are escaped
    assert "4 suppliers in the network" in html


async def test_the_network_page_pages_with_a_cursor(
    signed_in: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _network(signed_in, ctx, clock)
    monkeypatch.setattr(referral_pages, "PAGE_SIZE", 3)
    first = (await signed_in.get("/network")).text
    link = re.search(r'<a href="(/network\?cursor=[^"]+)" rel="next">', first)
    assert link is not None
    second = (await signed_in.get(link.group(1).replace("&amp;", "&"))).text
    shown = re.findall(r'<tr data-connector="([0-9a-f-]{36})">', first + second)
    assert sorted(shown) == sorted(ids)
    assert 'rel="next"' not in second
    broken = await signed_in.get("/network?cursor=garbage")
    assert broken.status_code == 200  # a bad cursor starts again from the top
    assert re.findall(r'<tr data-connector="([0-9a-f-]{36})">', broken.text)[0] == ids[0]


async def test_a_suppliers_tree_is_drawn_and_linked_from_its_page(
    signed_in: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    ids = await _network(signed_in, ctx, clock)
    profile = (await signed_in.get(f"/suppliers/{ids[0]}")).text
    assert f'href="/network/suppliers/{ids[0]}" id="referral-network-link"' in profile
    html = (await signed_in.get(f"/network/suppliers/{ids[0]}")).text
    tree = html[html.index('id="referral-tree"') :]
    referees = re.findall(r'<li data-referee="([^"]+)">', tree)
    # converted first, each with its own referrals beneath it, then the pending invitation
    assert referees == [ids[1], ids[3], ids[2], "maybe@x.example"]
    assert tree.index(ids[1]) < tree.index(ids[3])  # the grandchild under its referrer
    assert "invited" in tree
    shallow = (await signed_in.get(f"/network/suppliers/{ids[0]}?depth=1")).text
    assert ids[3] not in shallow[shallow.index('id="referral-tree"') :]
    assert (await signed_in.get("/network/suppliers/no-such-supplier")).status_code == 404
    lonely = (await signed_in.get(f"/network/suppliers/{ids[3]}")).text
    assert 'id="referral-tree-empty"' in lonely


async def test_the_network_pages_need_a_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/network")
    assert response.status_code in (302, 303, 401)
