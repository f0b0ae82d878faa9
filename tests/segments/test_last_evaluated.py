"""When each segment was last evaluated over every supplier: recorded by full evaluations
(and a segment's creation or change), not by the partial ones of ingested batches, and
forgotten with the segment."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import FakeClock
from tests.helpers import create_supplier
from wedsync_success.context import AppContext
from wedsync_success.segments import repository, service

AT_RISK = "at_risk_photographers_professional"
QUIET = {
    "key": "quiet_venues",
    "name": "Venues",
    "rules": {"all": [{"field": "vendor_type", "op": "eq", "value": "venue"}]},
}


async def _evaluated(client: httpx.AsyncClient) -> dict[str, str | None]:
    listed = (await client.get("/api/v1/segments")).json()
    return {s["key"]: s["last_evaluated_at"] for s in listed}


async def test_full_evaluations_are_recorded_and_partial_ones_are_not(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    supplier = uuid.UUID(await create_supplier(client, vendor_type="venue"))
    assert set((await _evaluated(client)).values()) == {None}  # never evaluated for all

    created_at = clock.now
    assert (await client.post("/api/v1/segments", json=QUIET)).status_code == 201
    after_create = await _evaluated(client)
    assert after_create["quiet_venues"] == created_at.isoformat().replace("+00:00", "Z")
    assert after_create[AT_RISK] is None  # creating one evaluates that one alone

    clock.advance(hours=1)
    async with ctx.db.transaction() as session:
        await service.evaluate(
            session=session, catalog=ctx.segments, now=clock.now, supplier_ids=[supplier]
        )
    assert await _evaluated(client) == after_create  # an ingest-sized evaluation: unrecorded

    clock.advance(hours=1)
    async with ctx.db.transaction() as session:
        await service.evaluate(session=session, catalog=ctx.segments, now=clock.now)
    stamp = clock.now.isoformat().replace("+00:00", "Z")
    assert set((await _evaluated(client)).values()) == {stamp}

    deleted = await client.delete("/api/v1/segments/quiet_venues")
    assert deleted.status_code == 200
    async with ctx.db.sessions() as session:
        assert await repository.evaluated_at(session, ["quiet_venues", AT_RISK]) == {
            AT_RISK: clock.now
        }
