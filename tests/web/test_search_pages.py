"""The dashboard's supplier search (top bar, suggestions, results page) and supplier names
on every event list, with the events page filtered by name."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from tests.statements import counted_statements
from tests.web.signin import add_user, log_in
from wedsync_success.context import AppContext
from wedsync_success.events.types import SuccessEvent
from wedsync_success.web.live_frames import LiveFrames


@pytest.fixture
async def signed_in(client: httpx.AsyncClient, ctx: AppContext) -> httpx.AsyncClient:
    await add_user(ctx)
    assert (await log_in(client)).status_code == 303
    return client


async def _with_milestone(client: httpx.AsyncClient, clock: FakeClock, name: str) -> str:
    """A supplier with a success event (its first client is a milestone)."""
    sid = await create_supplier(client, business_name=name)
    await ingest(client, [event(sid, "client_added", clock.now - timedelta(hours=1))])
    return sid


def _supplier_cells(html: str) -> list[str]:
    return re.findall(r'<td><a href="/suppliers/[0-9a-f-]{36}">([^<]*)</a></td>', html)


async def test_every_signed_in_page_has_the_search_box(signed_in: httpx.AsyncClient) -> None:
    for path in ("/", "/suppliers", "/events", "/tasks", "/search?q=oak"):
        html = (await signed_in.get(path)).text
        form = re.search(
            r'<form class="topbar-search" role="search" method="get" action="/search">.*?</form>',
            html,
            re.S,
        )
        assert form, path
        assert (
            '<label for="topbar-q" class="visually-hidden">Search suppliers</label>' in form.group()
        )
        assert 'data-suggest="/search/suppliers"' in form.group()


async def test_suggestions_are_the_top_eight_with_links(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    ids = [await create_supplier(signed_in, business_name=f"Oak Hall {n}") for n in range(10)]
    await create_supplier(signed_in, business_name="Hollow Oak Florals")
    body = (await signed_in.get("/search/suppliers", params={"q": "oak h"})).json()
    assert len(body["items"]) == 8
    first = body["items"][0]
    assert first["business_name"] == "Oak Hall 0"
    assert first["url"] == f"/suppliers/{ids[0]}"
    assert first["vendor_type"] == "Florist"
    assert (await signed_in.get("/search/suppliers", params={"q": " "})).json() == {"items": []}
    refused = await signed_in.get("/search/suppliers", params={"q": "o\x00"})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["field"] == "q"


async def test_suggestions_and_results_need_a_signed_in_user(client: httpx.AsyncClient) -> None:
    client.headers.pop("Authorization")
    for path in ("/search/suppliers?q=oak", "/search?q=oak"):
        response = await client.get(path, headers={"accept": "text/html"})
        assert response.status_code in (303, 401), path
        assert "Oak" not in response.text


async def test_the_results_page_links_matches_and_says_when_none_match(
    signed_in: httpx.AsyncClient,
) -> None:
    sid = await create_supplier(signed_in, business_name="Hollow Oak Florals")
    found = (await signed_in.get("/search", params={"q": "hollow oa"})).text
    assert f'<a href="/suppliers/{sid}">Hollow Oak Florals</a>' in found
    assert "1 supplier match “hollow oa”" in found
    none = (await signed_in.get("/search", params={"q": "zephyr"})).text
    assert "No supplier is called “zephyr”" in none
    bad = await signed_in.get("/search", params={"q": "a" * 150})
    assert bad.status_code == 422
    assert "longer than 100 characters" in bad.text


async def test_event_lists_name_their_suppliers(
    signed_in: httpx.AsyncClient, clock: FakeClock
) -> None:
    await _with_milestone(signed_in, clock, "Hollow Oak Florals")
    await _with_milestone(signed_in, clock, "Willow & Wren")
    events = (await signed_in.get("/events")).text
    cells = _supplier_cells(events)
    assert set(cells) == {"Hollow Oak Florals", "Willow &amp; Wren"}
    assert ">open</a>" not in events
    overview = (await signed_in.get("/")).text
    assert ">Hollow Oak Florals</a>" in overview
    assert ">supplier</a>" not in overview


async def test_the_events_page_filters_by_supplier_name(
    signed_in: httpx.AsyncClient, clock: FakeClock
) -> None:
    hollow = await _with_milestone(signed_in, clock, "Hollow Oak Florals")
    await _with_milestone(signed_in, clock, "Oakley Studios")
    await _with_milestone(signed_in, clock, "Willow & Wren")

    one = (await signed_in.get("/events", params={"supplier": "hollow"})).text
    assert set(_supplier_cells(one)) == {"Hollow Oak Florals"}
    assert 'id="f-supplier" name="supplier"' in one
    assert 'value="hollow"' in one

    both = (await signed_in.get("/events", params={"supplier": "oak"})).text
    assert set(_supplier_cells(both)) == {"Hollow Oak Florals", "Oakley Studios"}
    assert "pick one to see only theirs" in both
    assert f"supplier_id={hollow}" in both  # the link narrowing to one of them

    none = await signed_in.get("/events", params={"supplier": "zephyr"})
    assert none.status_code == 200
    assert "No supplier is called “zephyr”" in none.text
    assert _supplier_cells(none.text) == []

    by_id = (await signed_in.get("/events", params={"supplier_id": hollow})).text
    assert set(_supplier_cells(by_id)) == {"Hollow Oak Florals"}
    assert 'value="Hollow Oak Florals"' in by_id
    # a name typed over the one the id stands for wins (a form submitted without script)
    retyped = (
        await signed_in.get("/events", params={"supplier_id": hollow, "supplier": "willow"})
    ).text
    assert set(_supplier_cells(retyped)) == {"Willow &amp; Wren"}

    bad = await signed_in.get("/events", params={"supplier": "x" * 101})
    assert bad.status_code == 422
    assert "supplier name" in bad.text
    bad_id = await signed_in.get("/events", params={"supplier_id": "not-an-id"})
    assert bad_id.status_code == 422


async def test_live_frames_carry_the_business_name(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = uuid.UUID(await create_supplier(client, business_name="Hollow Oak Florals"))
    events = [
        SuccessEvent(n, uuid.uuid4(), "supplier.health_improved", who, clock.now, {"score": 70})
        for n, who in enumerate((sid, None, uuid.uuid4()), start=1)
    ]
    frames = [json.loads(str(f.data)) for f in await LiveFrames().frames(ctx.db, events)]
    assert [f["supplier_name"] for f in frames] == ["Hollow Oak Florals", None, None]
    assert frames[0]["supplier_id"] == str(sid)


async def test_many_listeners_share_one_rendering_of_each_event(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = uuid.UUID(await create_supplier(client, business_name="Hollow Oak Florals"))
    burst = [
        SuccessEvent(n, uuid.uuid4(), "supplier.health_improved", sid, clock.now, {"score": n})
        for n in range(1, 4)
    ]
    frames = LiveFrames()
    with counted_statements(ctx) as statements:
        per_listener = await asyncio.gather(*(frames.frames(ctx.db, burst) for _ in range(50)))
        later = await frames.frames(ctx.db, burst[1:])  # a listener that fell behind
    assert len([s for s in statements if "business_name" in s]) == 1
    assert all(got == per_listener[0] for got in per_listener)
    assert later == per_listener[0][1:]
    assert [json.loads(str(f.data))["payload"]["score"] for f in per_listener[0]] == [1, 2, 3]


async def test_a_failed_rendering_is_retried_by_the_next_listener(
    ctx: AppContext, clock: FakeClock
) -> None:
    event = SuccessEvent(1, uuid.uuid4(), "supplier.health_improved", uuid.uuid4(), clock.now, {})
    frames = LiveFrames(kept=10)

    def unreachable() -> None:
        raise ConnectionError("database away")

    with pytest.raises(ConnectionError):
        await frames.frames(replace(ctx.db, sessions=unreachable), [event])  # type: ignore[arg-type]
    assert [f.id for f in await frames.frames(ctx.db, [event])] == ["1"]
