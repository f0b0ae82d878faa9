"""Peer context: the percentile rank of a supplier's score among current customers of the
same vendor type and plan, and their distribution, on both backends and through the API."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import update

from tests.helpers import create_supplier
from wedsync_success.context import AppContext
from wedsync_success.health.models import HealthScore
from wedsync_success.health.peers import PeerGroups, load_peer_groups, percentile_rank
from wedsync_success.kit.snapshots import Snapshot


async def _set_score(ctx: AppContext, sid: str, score: float) -> None:
    async with ctx.db.transaction() as session:
        await session.execute(
            update(HealthScore).where(HealthScore.supplier_id == uuid.UUID(sid)).values(score=score)
        )


async def _peers(client: httpx.AsyncClient, ctx: AppContext) -> dict[str, str]:
    """Five professional florists scoring 10, 20, 30, 30 and 100, and three who are not
    their peers: a cancelled florist, a starter-plan florist, a professional videographer."""
    made: dict[str, str] = {}
    for name, score in (("a", 10.0), ("b", 20.0), ("c", 30.0), ("d", 30.0), ("e", 100.0)):
        made[name] = await create_supplier(client)
        await _set_score(ctx, made[name], score)
    others = {
        "cancelled": {},
        "starter": {"plan_tier": "starter"},
        "videographer": {"vendor_type": "videographer"},
    }
    for name, overrides in others.items():
        made[name] = await create_supplier(client, **overrides)
        await _set_score(ctx, made[name], 5.0)
    # Scored while a customer, then cancelled: its last score stays but it is no peer.
    await create_supplier(
        client,
        id=made["cancelled"],
        subscription_status="cancelled",
        subscription_ended_at="2026-06-01T00:00:00+00:00",
    )
    async with ctx.db.sessions() as session:
        kept = await session.get(HealthScore, uuid.UUID(made["cancelled"]))
    assert kept is not None
    assert kept.score == 5.0
    return made


async def test_percentile_among_current_peers(client: httpx.AsyncClient, ctx: AppContext) -> None:
    made = await _peers(client, ctx)
    response = await client.get(f"/api/v1/suppliers/{made['c']}/peers")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["vendor_type"], body["plan_tier"], body["peers"]) == ("florist", "professional", 5)
    assert body["score"] == 30.0
    assert body["percentile"] == 60.0  # 2 below, 2 level (itself and d) count half: 3 of 5
    assert [b["count"] for b in body["buckets"]] == [0, 1, 1, 2, 0, 0, 0, 0, 0, 1]
    assert body["buckets"][-1] == {"low": 90, "high": 100, "count": 1}  # 100 sits in the last
    top = (await client.get(f"/api/v1/suppliers/{made['e']}/peers")).json()
    assert top["percentile"] == 90.0
    bottom = (await client.get(f"/api/v1/suppliers/{made['a']}/peers")).json()
    assert bottom["percentile"] == 10.0
    alone = (await client.get(f"/api/v1/suppliers/{made['videographer']}/peers")).json()
    assert (alone["peers"], alone["percentile"]) == (1, None)  # nobody to compare with


async def test_the_distribution_is_one_aggregate_of_every_group(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    made = await _peers(client, ctx)
    groups = await load_peer_groups(ctx.db)
    assert sorted(groups.index) == [
        ("florist", "professional"),
        ("florist", "starter"),
        ("videographer", "professional"),
    ]
    standing = groups.standing(
        supplier_id=uuid.UUID(made["b"]), vendor_type="florist", plan_tier="professional", score=20
    )
    assert (standing.peers, standing.percentile) == (5, 30.0)


async def test_unknown_and_unscored_suppliers(client: httpx.AsyncClient, ctx: AppContext) -> None:
    missing = await client.get(f"/api/v1/suppliers/{uuid.uuid4()}/peers")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    sid = await create_supplier(client)
    async with ctx.db.transaction() as session:
        await session.execute(
            HealthScore.__table__.delete().where(HealthScore.supplier_id == uuid.UUID(sid))
        )
    unscored = (await client.get(f"/api/v1/suppliers/{sid}/peers")).json()
    assert (unscored["score"], unscored["percentile"], unscored["peers"]) == (None, None, 0)


def test_an_unknown_group_and_the_rank_formula() -> None:
    empty = PeerGroups.of([])
    standing = empty.standing(
        supplier_id=uuid.uuid4(), vendor_type="cake", plan_tier="scale", score=50.0
    )
    assert (standing.peers, standing.percentile) == (0, None)
    assert sum(b.count for b in standing.buckets) == 0
    assert percentile_rank(0, 1, 1) is None
    assert percentile_rank(3, 1, 4) == 87.5
    assert percentile_rank(0, 4, 4) == 50.0


@pytest.mark.parametrize(("score", "band"), [(0.0, 0), (9.9, 0), (10.0, 1), (99.9, 9), (100.0, 9)])
def test_band_edges(score: float, band: int) -> None:
    groups = PeerGroups.of([("cake", "scale", score, 3)])
    standing = groups.standing(
        supplier_id=uuid.uuid4(), vendor_type="cake", plan_tier="scale", score=score
    )
    assert [b.count for b in standing.buckets] == [3 if i == band else 0 for i in range(10)]


async def test_distributions_are_refreshed_behind_the_scenes() -> None:
    """The snapshot peers are read from: computed once, served while fresh, served stale
    while one background refresh runs, kept when a refresh fails."""
    now = [0.0]
    calls: list[int] = []

    async def compute() -> int:
        calls.append(len(calls))
        if len(calls) == 3:
            raise RuntimeError("database away")
        return len(calls)

    held = Snapshot(compute, name="test", max_age_seconds=10, monotonic=lambda: now[0])
    assert await held.get() == 1
    now[0] = 9
    assert await held.get() == 1
    assert len(calls) == 1
    now[0] = 11
    assert await held.get() == 1  # stale: answered at once, refreshed behind
    await held.settled()
    assert await held.get() == 2
    now[0] = 30
    assert await held.get() == 2
    await held.settled()  # this refresh fails: the stale value stays
    assert await held.get() == 2
    await held.settled()
    assert await held.get() == 4
    every_time = Snapshot(compute, name="test", max_age_seconds=0)
    assert [await every_time.get(), await every_time.get()] == [5, 6]
