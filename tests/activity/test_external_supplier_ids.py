"""Events may name their supplier by its external id instead of its UUID."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier


def _by_external_id(external_id: str, type: str, clock: FakeClock, **extra: Any) -> dict[str, Any]:
    body = event("unused", type, clock.now - timedelta(hours=1), **extra)
    del body["supplier_id"]
    return body | {"supplier_external_id": external_id}


async def test_events_by_external_id_are_stored_for_that_supplier(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    sid = await create_supplier(client, external_id="crm-881")
    other = await create_supplier(client)
    batch = [
        _by_external_id("crm-881", "login", clock),
        _by_external_id("crm-881", "client_added", clock),
        event(other, "login", clock.now - timedelta(hours=1)),
        _by_external_id("crm-404", "login", clock),  # nobody has it
        _by_external_id("crm-881", "login", clock) | {"supplier_id": sid},  # both given
        {k: v for k, v in event(sid, "login", clock.now).items() if k != "supplier_id"},
    ]
    response = await client.post("/api/v1/events", json={"events": batch})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (3, 3)
    errors = {e["index"]: (e["field"], e["reason"]) for e in body["errors"]}
    assert errors[3] == ("supplier_external_id", "no supplier has this external id")
    assert errors[4] == ("", "give exactly one of supplier_id and supplier_external_id")
    assert errors[5] == ("", "give exactly one of supplier_id and supplier_external_id")
    profile = (await client.get("/api/v1/suppliers/crm-881")).json()
    assert {e["type"] for e in profile["recent_events"]} == {"login", "client_added"}
    again = (await client.post("/api/v1/events", json={"events": batch[:2]})).json()
    assert (again["accepted"], again["duplicates"]) == (0, 2)  # the same event ids
