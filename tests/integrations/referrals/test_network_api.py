"""The network through its surfaces: the API's top connectors (paged) and referral tree,
the health score's network component (explained), referral milestones (once each), the
referral-milestone playbook, and the command line."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.config import DEFAULTS_DIR
from wedsync_success.context import AppContext
from wedsync_success.events.models import OutboxEvent
from wedsync_success.events.types import SuccessEventType
from wedsync_success.interventions.playbooks import load_playbooks
from wedsync_success.pipeline import rescore_all

runner = CliRunner()


def _converted(referrer: str, referee: str, at: datetime) -> dict[str, object]:
    return event(
        referrer,
        "referral_converted",
        at,
        properties={"referred": f"{referee}@x.example", "referred_supplier_id": referee},
    )


async def _chain(client: httpx.AsyncClient, clock: FakeClock) -> dict[str, str]:
    """A referred B and C; B referred D; E referred nobody who joined."""
    ids = {n: await create_supplier(client, business_name=f"Supplier {n}") for n in "ABCDE"}
    at = clock.now - timedelta(days=2)
    await ingest(
        client,
        [
            _converted(ids["A"], ids["B"], at),
            _converted(ids["A"], ids["C"], at),
            _converted(ids["B"], ids["D"], at),
            event(ids["E"], "referral_sent", at, properties={"referred": "maybe@x.example"}),
        ],
    )
    return ids


async def _rescore(ctx: AppContext) -> None:
    async with ctx.db.transaction() as session:
        await rescore_all(session=session, ctx=ctx, as_of=ctx.clock().date())


async def test_top_connectors_page_through_the_network(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    ids = await _chain(client, clock)
    await _rescore(ctx)  # recomputes the network first
    first = (await client.get("/api/v1/referrals/top", params={"limit": 2})).json()
    assert first["total"] == 5
    assert first["items"][0]["supplier_id"] == ids["A"]  # credit flows back up the chain
    assert first["items"][0]["reach"] == 3
    seen = [i["supplier_id"] for i in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = (
            await client.get("/api/v1/referrals/top", params={"limit": 2, "cursor": cursor})
        ).json()
        seen += [i["supplier_id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert sorted(seen) == sorted(ids.values())  # each once
    ranks = [m["pagerank"] for m in (await client.get("/api/v1/referrals/top")).json()["items"]]
    assert ranks == sorted(ranks, reverse=True)
    bad = await client.get("/api/v1/referrals/top", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "cursor"


async def test_a_suppliers_referral_tree_is_depth_limited(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    ids = await _chain(client, clock)
    await _rescore(ctx)
    deep = (await client.get(f"/api/v1/suppliers/{ids['A']}/referrals")).json()
    assert deep["metrics"]["converted"] == 2
    assert deep["metrics"]["reach"] == 3
    by_id = {n["supplier_id"]: n for n in deep["tree"]}
    assert set(by_id) == {ids["B"], ids["C"]}
    assert by_id[ids["B"]]["business_name"] == "Supplier B"
    assert [n["supplier_id"] for n in by_id[ids["B"]]["referrals"]] == [ids["D"]]
    shallow = (
        await client.get(f"/api/v1/suppliers/{ids['A']}/referrals", params={"depth": 1})
    ).json()
    assert all(n["referrals"] == [] for n in shallow["tree"])
    pending = (await client.get(f"/api/v1/suppliers/{ids['E']}/referrals")).json()
    assert [(n["referee_key"], n["converted_at"]) for n in pending["tree"]] == [
        ("maybe@x.example", None)
    ]
    outside = await create_supplier(client)
    lonely = (await client.get(f"/api/v1/suppliers/{outside}/referrals")).json()
    assert (lonely["metrics"]["sent"], lonely["tree"]) == (0, [])
    assert (await client.get(f"/api/v1/suppliers/{uuid.uuid4()}/referrals")).status_code == 404
    too_deep = await client.get(f"/api/v1/suppliers/{ids['A']}/referrals", params={"depth": 9})
    assert too_deep.status_code == 422


async def test_the_network_component_raises_health_and_is_explained(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    ids = await _chain(client, clock)
    await _rescore(ctx)
    a = (await client.get(f"/api/v1/suppliers/{ids['A']}")).json()["health"]
    c = (await client.get(f"/api/v1/suppliers/{ids['C']}")).json()["health"]
    assert a["components"]["network"] == 100.0  # reach 3 of a target of 3
    assert c["components"]["network"] == 0.0
    factors = {f["component"]: f for f in a["explanation"]["strengths"] + a["explanation"]["gaps"]}
    network = factors["network"]
    assert network["status"] == "on_track"
    assert network["detail"] == (
        "Brought 3 suppliers into WedSync, directly or through those they referred"
    )
    assert network["healthy_detail"] == "Healthy: 1 supplier brought into WedSync"
    assert network["impact"] == pytest.approx(0.05 * (100 - 33.3), abs=0.05)
    gaps = {f["component"]: f for f in c["explanation"]["gaps"]}
    assert gaps["network"]["detail"] == "No supplier brought into WedSync through referrals yet"
    improvement = next(i for i in c["explanation"]["improvements"] if i["component"] == "network")
    assert improvement["action"].startswith("Bring a supplier into WedSync")
    assert a["score"] > c["score"]


async def test_referral_milestones_fire_once_each(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    referrer = await create_supplier(client)
    referees = [await create_supplier(client) for _ in range(6)]
    at = clock.now - timedelta(days=1)
    batch = [_converted(referrer, r, at + timedelta(minutes=i)) for i, r in enumerate(referees[:5])]
    await ingest(client, batch)
    await ingest(client, batch)  # a replay: duplicates, no new milestone
    await ingest(client, [_converted(referrer, referees[5], at + timedelta(hours=1))])
    await _rescore(ctx)
    async with ctx.db.sessions() as session:
        events = (
            await session.scalars(
                select(OutboxEvent).where(
                    OutboxEvent.event_type == SuccessEventType.MILESTONE_ACHIEVED.value,
                    OutboxEvent.supplier_id == uuid.UUID(referrer),
                )
            )
        ).all()
    keys = sorted(e.payload["milestone"] for e in events)
    assert keys == ["fifth_referral_converted", "first_referral_converted"]
    fifth = next(e for e in events if e.payload["milestone"] == "fifth_referral_converted")
    assert fifth.payload["achieved_at"] == (at + timedelta(minutes=4)).isoformat()


def test_a_referral_milestone_enrols_in_the_referral_milestone_ask() -> None:
    catalog = load_playbooks(DEFAULTS_DIR / "playbooks.yaml")
    [playbook] = [
        p
        for p in catalog.triggered_by("supplier.milestone_achieved")
        if "fifth_referral_converted" in (p.trigger.when.milestone or [])
    ]
    assert playbook.key == "referral_milestone_ask"
    assert playbook.group == catalog.get("referral_ask").group  # never both at once
