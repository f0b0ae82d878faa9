"""Many producers at once, on both backends: nothing fails, and nothing is counted twice.

Each producer is a client of the real app with its own requests (so its own session and
connection); batches overlap on purpose, in different orders, which is what deadlocked
PostgreSQL before writers took their locks in one order.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import func, select

from tests.conftest import FakeClock
from tests.factories import event, supplier
from wedsync_success.activity.models import ActivityEvent, DailyRollup, SupplierEventTotal
from wedsync_success.churn import feature_store
from wedsync_success.churn.features import FeatureSpec, compute_features
from wedsync_success.context import AppContext
from wedsync_success.health.models import HealthScore
from wedsync_success.pipeline import refresh
from wedsync_success.suppliers.models import Supplier, SupplierUser
from wedsync_success.web.app import create_app

PRODUCERS = 20
BATCH = 500
SPEC = FeatureSpec(milestone_keys=("first_client",))
TYPES = ("login", "client_added", "message_sent", "form_submitted", "payment_received")


@pytest.fixture
async def producers(
    ctx: AppContext, api_keys: dict[str, str]
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One client per producer, each on the app (its requests run concurrently)."""
    app = create_app(context=ctx, run_dispatcher=False)
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers={"Authorization": f"Bearer {api_keys['admin']}"},
        )
        for _ in range(PRODUCERS)
    ]
    try:
        yield clients
    finally:
        for client in clients:
            await client.aclose()


async def _register(client: httpx.AsyncClient, count: int, clock: FakeClock) -> list[str]:
    signed_up = (clock.now - timedelta(days=200)).isoformat()
    bodies = [supplier(signed_up_at=signed_up) for _ in range(count)]
    response = await client.post("/api/v1/suppliers", json={"suppliers": bodies})
    assert response.status_code == 200, response.text
    return [str(b["id"]) for b in bodies]


def _batches(suppliers: list[str], clock: FakeClock, seed: int) -> list[list[dict[str, Any]]]:
    """One batch per producer, all for the same suppliers: half of each batch is shared
    (every shared event is in two neighbouring producers' batches), half is its own; each
    batch in its own random order."""
    rng = random.Random(seed)

    def one(tag: str) -> dict[str, Any]:
        kind = rng.choice(TYPES)
        at = clock.now - timedelta(days=rng.randrange(60), minutes=rng.randrange(1440))
        props = {"amount": rng.randrange(100, 9000)} if kind == "payment_received" else {}
        return event(rng.choice(suppliers), kind, at, event_id=tag, properties=props)

    quarter = BATCH // 4
    shared = [one(f"shared-{i}") for i in range(PRODUCERS * quarter)]
    batches = []
    for p in range(PRODUCERS):
        overlap = [shared[(p * quarter + i) % len(shared)] for i in range(2 * quarter)]
        batch = [*overlap, *(one(f"own-{p}-{i}") for i in range(BATCH - 2 * quarter))]
        rng.shuffle(batch)
        batches.append(batch)
    return batches


async def _post_all(
    clients: list[httpx.AsyncClient], batches: list[list[dict[str, Any]]]
) -> list[httpx.Response]:
    return await asyncio.gather(
        *(
            c.post("/api/v1/events", json={"events": b})
            for c, b in zip(clients, batches, strict=True)
        )
    )


async def _scalar(ctx: AppContext, query: Any) -> Any:
    async with ctx.db.sessions() as session:
        return await session.scalar(query)


async def test_many_producers_at_once_store_every_event_once(
    ctx: AppContext, clock: FakeClock, producers: list[httpx.AsyncClient]
) -> None:
    suppliers = await _register(producers[0], 12, clock)
    async with ctx.db.transaction() as session:  # the churn feature store follows ingest too
        await feature_store.roll_forward(session, to=clock.now.date(), now=clock.now)
    batches = _batches(suppliers, clock, seed=7)
    distinct = {e["event_id"] for b in batches for e in b}
    assert len(distinct) < PRODUCERS * BATCH  # the batches do overlap

    responses = await _post_all(producers, batches)

    assert [r.status_code for r in responses] == [200] * PRODUCERS, [
        r.text for r in responses if r.status_code != 200
    ]
    bodies = [r.json() for r in responses]
    assert sum(b["accepted"] for b in bodies) == len(distinct)
    assert sum(b["accepted"] + b["duplicates"] for b in bodies) == PRODUCERS * BATCH
    assert all(b["rejected"] == 0 for b in bodies)
    assert await _scalar(ctx, select(func.count()).select_from(ActivityEvent)) == len(distinct)

    # Rollups and totals equal the stored events, group by group.
    async with ctx.db.sessions() as session:
        e = ActivityEvent
        by_day = dict(
            (tuple(k), n)
            for *k, n in await session.execute(
                select(e.supplier_id, e.occurred_on, e.event_type, func.count()).group_by(
                    e.supplier_id, e.occurred_on, e.event_type
                )
            )
        )
        rolled = {
            (r.supplier_id, r.day, r.event_type): r.count
            for r in (await session.scalars(select(DailyRollup))).all()
        }
        totals = {
            (t.supplier_id, t.event_type): t.count
            for t in (await session.scalars(select(SupplierEventTotal))).all()
        }
        value_sum = await session.scalar(select(func.sum(e.value)))
        rolled_sum = await session.scalar(select(func.sum(DailyRollup.value_sum)))
    assert rolled == by_day
    expected_totals: dict[tuple[Any, str], int] = {}
    for (sid, _, kind), n in by_day.items():
        expected_totals[(sid, kind)] = expected_totals.get((sid, kind), 0) + n
    assert totals == expected_totals
    assert rolled_sum == value_sum

    # No lost update: every stored score is what scoring the final data gives.
    async with ctx.db.sessions() as session:
        stored = {h.supplier_id: h.score for h in (await session.scalars(select(HealthScore)))}
    async with ctx.db.transaction() as session:
        await refresh(
            session=session,
            ctx=ctx,
            as_of=clock.now.date(),
            supplier_ids=[uuid.UUID(s) for s in suppliers],
        )
    async with ctx.db.sessions() as session:
        fresh = {h.supplier_id: h.score for h in (await session.scalars(select(HealthScore)))}
    assert stored == fresh
    assert len(fresh) == len(suppliers)

    # The churn feature store, added to by every batch, still equals its definition.
    async with ctx.db.sessions() as session:
        store = await compute_features(session, spec=SPEC, as_of=clock.now.date(), source="store")
        definition = await compute_features(session, spec=SPEC, as_of=clock.now.date())
    assert store.supplier_ids == definition.supplier_ids
    np.testing.assert_array_equal(store.matrix, definition.matrix)


async def test_concurrent_supplier_registration(
    ctx: AppContext, clock: FakeClock, producers: list[httpx.AsyncClient]
) -> None:
    """Overlapping POST /suppliers batches (same ids, other orders) all succeed; each
    supplier ends with exactly one row, one user list and one score."""
    rng = random.Random(3)
    pool = [supplier() for _ in range(60)]
    batches = [rng.sample(pool, 25) for _ in producers]
    responses = await asyncio.gather(
        *(
            c.post("/api/v1/suppliers", json={"suppliers": b})
            for c, b in zip(producers, batches, strict=True)
        )
    )
    assert [r.status_code for r in responses] == [200] * len(producers), [
        r.text for r in responses if r.status_code != 200
    ]
    touched = {b["id"] for batch in batches for b in batch}
    assert sum(r.json()["created"] for r in responses) == len(touched)
    assert await _scalar(ctx, select(func.count()).select_from(Supplier)) == len(touched)
    assert await _scalar(ctx, select(func.count()).select_from(SupplierUser)) == len(touched)
    assert await _scalar(ctx, select(func.count()).select_from(HealthScore)) == len(touched)


async def test_recompute_and_the_store_roll_while_ingest_lands(
    ctx: AppContext, clock: FakeClock, producers: list[httpx.AsyncClient]
) -> None:
    """Full rescores (POST /health/recompute) and the churn feature store's daily roll run
    while batches land: every request succeeds, every event is counted once."""
    suppliers = await _register(producers[0], 12, clock)
    async with ctx.db.transaction() as session:
        await feature_store.roll_forward(
            session, to=clock.now.date() - timedelta(days=1), now=clock.now
        )
    batches = _batches(suppliers, clock, seed=11)[:12]

    async def roll() -> None:
        async with ctx.db.transaction() as session:
            await feature_store.roll_forward(session, to=clock.now.date(), now=clock.now)

    recomputes = [p.post("/api/v1/health/recompute") for p in producers[12:16]]
    results = await asyncio.gather(_post_all(producers[:12], batches), *recomputes, roll())
    posted, recomputed = results[0], results[1:5]
    assert [r.status_code for r in [*posted, *recomputed]] == [200] * 16, [
        r.text for r in [*posted, *recomputed] if r.status_code != 200
    ]
    assert all(r.json()["scored"] == len(suppliers) for r in recomputed)
    distinct = {e["event_id"] for b in batches for e in b}
    assert sum(r.json()["accepted"] for r in posted) == len(distinct)
    assert await _scalar(ctx, select(func.sum(DailyRollup.count))) == len(distinct)
    async with ctx.db.sessions() as session:
        assert await feature_store.store_day(session) == clock.now.date()
