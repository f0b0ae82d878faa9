"""POST /api/v1/events: idempotency, partial batches, malformed input, limits."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier
from wedsync_success.activity.models import ActivityEvent, DailyRollup, SupplierEventTotal
from wedsync_success.context import AppContext


async def test_same_batch_twice_is_counted_once(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    batch = [event(sid, "login", clock.now - timedelta(hours=h)) for h in range(1, 6)]

    first = await client.post("/api/v1/events", json={"events": batch})
    second = await client.post("/api/v1/events", json={"events": batch})

    assert first.json()["accepted"] == 5
    assert first.json()["duplicates"] == 0
    assert second.json()["accepted"] == 0
    assert second.json()["duplicates"] == 5
    async with ctx.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ActivityEvent)) == 5
        assert await session.scalar(select(func.sum(DailyRollup.count))) == 5
        assert await session.scalar(select(func.sum(SupplierEventTotal.count))) == 5


async def test_repeated_event_id_inside_a_batch_is_a_duplicate(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    one = event(sid, "login", clock.now - timedelta(hours=1))
    response = await client.post("/api/v1/events", json=[one, dict(one)])
    assert response.json() | {"errors": []} == {
        "accepted": 1,
        "duplicates": 1,
        "rejected": 0,
        "errors": [],
        "affected_suppliers": 1,
    }


async def test_partly_bad_batch_stores_the_good_items_and_names_each_bad_one(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    unknown_supplier = "00000000-0000-4000-8000-000000000000"
    batch = [
        event(sid, "login", clock.now - timedelta(hours=1)),
        event(sid, "login", clock.now) | {"occurred_at": "yesterday"},
        {"event_id": "no-type", "supplier_id": sid, "occurred_at": clock.now.isoformat()},
        event(unknown_supplier, "login", clock.now - timedelta(hours=1)),
        event(sid, "payment_received", clock.now - timedelta(hours=1), properties={"amount": 9.5}),
        event(sid, "login", clock.now + timedelta(days=1)),
        "not an object",
        event(sid, "calendar_synced", clock.now - timedelta(hours=2)),  # unknown types are kept
    ]
    response = await client.post("/api/v1/events", json={"events": batch})

    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 0, 6)
    reasons = {e["index"]: (e["field"], e["reason"]) for e in body["errors"]}
    assert reasons[1][0] == "occurred_at"
    assert reasons[2] == ("type", "is required")
    assert reasons[3] == ("supplier_id", "no supplier with this id")
    assert reasons[4][0] == "properties.amount"
    assert "minor units" in reasons[4][1]
    assert reasons[5] == ("occurred_at", "is more than 5 minutes in the future")
    assert reasons[6][0] == ""
    assert [e["index"] for e in body["errors"]] == sorted(reasons)
    async with ctx.db.sessions() as session:
        types = set(
            await session.scalars(select(ActivityEvent.event_type).select_from(ActivityEvent))
        )
    assert types == {"login", "calendar_synced"}


async def test_malformed_json_gets_a_clear_error(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/events", content=b'{"events": [', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"] == "body"
    assert "not valid JSON" in error["message"]


async def test_body_without_events_list_is_rejected(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/events", json={"items": []})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "events"


async def test_oversized_batch_is_refused_with_413(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    batch = [event(sid, "login", clock.now) for _ in range(ctx.settings.max_batch_size + 1)]
    response = await client.post("/api/v1/events", json=batch)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert "at most 5000" in error["message"]
    async with ctx.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ActivityEvent)) == 0


async def test_rollups_aggregate_by_day_and_type(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    day = clock.now.replace(hour=10)
    batch = [
        event(sid, "payment_received", day, properties={"amount": 4900}),
        event(sid, "payment_received", day.replace(hour=11), properties={"amount": 100}),
        event(sid, "login", day - timedelta(days=1)),
    ]
    await client.post("/api/v1/events", json=batch)
    await client.post(
        "/api/v1/events",
        json=[event(sid, "payment_received", day.replace(hour=9), properties={"amount": 1})],
    )
    async with ctx.db.sessions() as session:
        rows = (
            await session.execute(
                select(
                    DailyRollup.day,
                    DailyRollup.event_type,
                    DailyRollup.count,
                    DailyRollup.value_sum,
                ).order_by(DailyRollup.day)
            )
        ).all()
        total = await session.get(SupplierEventTotal, (uuid.UUID(sid), "payment_received"))
    assert [(r[1], r[2], r[3]) for r in rows] == [("login", 1, 0), ("payment_received", 3, 5001)]
    assert total is not None
    assert total.first_at == day.replace(hour=9)
    assert total.last_at == day.replace(hour=11)
