"""Subscription events update the supplier once: when first stored, never when re-sent."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest


async def _subscription(client: httpx.AsyncClient, sid: str) -> dict[str, object]:
    profile = (await client.get(f"/api/v1/suppliers/{sid}")).json()
    keys = ("subscription_status", "subscription_ended_at", "plan_tier", "mrr_minor")
    return {k: profile[k] for k in keys}


async def test_cancel_change_and_a_resent_cancel(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    cancelled_at = clock.now - timedelta(days=3)
    cancel = event(sid, "subscription_cancelled", cancelled_at, properties={"reason": "price"})
    await ingest(client, [cancel])
    assert await _subscription(client, sid) == {
        "subscription_status": "cancelled",
        "subscription_ended_at": cancelled_at.isoformat().replace("+00:00", "Z"),
        "plan_tier": "professional",
        "mrr_minor": 4900,
    }

    back = event(
        sid,
        "subscription_changed",
        clock.now - timedelta(days=1),
        properties={"status": "active", "plan_tier": "scale", "mrr_minor": 9900},
    )
    await ingest(client, [back])
    returned = {
        "subscription_status": "active",
        "subscription_ended_at": None,
        "plan_tier": "scale",
        "mrr_minor": 9900,
    }
    assert await _subscription(client, sid) == returned

    # The old cancellation arrives again (a client retry) with a new event of the batch: it
    # is a duplicate, so it must not end the subscription a second time.
    body = await ingest(client, [cancel, event(sid, "login", clock.now - timedelta(hours=1))])
    assert (body["accepted"], body["duplicates"]) == (1, 1)
    assert await _subscription(client, sid) == returned
