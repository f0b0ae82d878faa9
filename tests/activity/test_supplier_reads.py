"""One supplier's reads: lifetime counts and latest events are that supplier's only."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.activity.repository import lifetime_counts, recent_events
from wedsync_success.context import AppContext


async def test_counts_and_latest_events_belong_to_the_supplier(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    mine, other = await create_supplier(client), await create_supplier(client)
    hours = [5, 1, 3, 2]
    await ingest(client, [event(mine, "login", clock.now - timedelta(hours=h)) for h in hours])
    await ingest(client, [event(mine, "client_added", clock.now - timedelta(hours=4))])
    await ingest(client, [event(other, "login", clock.now - timedelta(minutes=5))] * 1)
    async with ctx.db.sessions() as session:
        counts = await lifetime_counts(session, uuid.UUID(mine))
        latest = await recent_events(session, uuid.UUID(mine), limit=3)
    assert counts == {"login": 4, "client_added": 1}
    assert [clock.now - e.occurred_at for e in latest] == [
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=3),
    ]
    assert {str(e.supplier_id) for e in latest} == {mine}
