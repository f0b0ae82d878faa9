"""One supplier's reads: lifetime counts and latest events are that supplier's only."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.activity.models import SupplierEventTotal
from wedsync_success.activity.repository import lifetime_counts, recent_events
from wedsync_success.activity.service import store_batch
from wedsync_success.activity.validation import MAX_CLOCK_SKEW
from wedsync_success.context import AppContext
from wedsync_success.kit.errors import PayloadTooLarge


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


async def test_lifetime_totals_add_up_across_batches(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    """Each batch folds into the totals: counts and amounts add, the first and last times
    widen (a late batch can hold an earlier event)."""
    sid = await create_supplier(client)
    user = str(uuid.uuid4())

    def paid(hours: int, amount: int) -> dict[str, object]:
        return event(
            sid,
            "payment_received",
            clock.now - timedelta(hours=hours),
            properties={"amount": amount},
            user_id=user,
        )

    await ingest(client, [paid(5, 100)])
    await ingest(client, [paid(1, 250), paid(3, 50)])
    await ingest(client, [paid(6, 10)])
    async with ctx.db.sessions() as session:
        total = await session.scalar(
            select(SupplierEventTotal).where(SupplierEventTotal.supplier_id == uuid.UUID(sid))
        )
        latest = await recent_events(session, uuid.UUID(sid), limit=1)
    assert total is not None
    assert (total.count, total.value_sum) == (4, 410)
    assert (clock.now - total.first_at, clock.now - total.last_at) == (
        timedelta(hours=6),
        timedelta(hours=1),
    )
    assert [str(e.user_id) for e in latest] == [user]


async def test_an_events_batch_of_exactly_the_limit_is_taken(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    items = [event(sid, "login", clock.now - timedelta(minutes=m + 1)) for m in range(4)]
    async with ctx.db.transaction() as session:
        stored = await store_batch(
            session=session, items=items[:3], now=clock.now, max_batch_size=3
        )
        assert stored.result.accepted == 3
        with pytest.raises(PayloadTooLarge, match="at most 3 events; this one has 4") as refused:
            await store_batch(session=session, items=items, now=clock.now, max_batch_size=3)
    assert refused.value.details == [{"field": "events", "reason": "more than 3 items"}]


async def test_the_clock_skew_allowance_and_repeats_within_a_batch(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    at_limit = event(sid, "login", clock.now + MAX_CLOCK_SKEW)
    beyond = event(sid, "login", clock.now + MAX_CLOCK_SKEW + timedelta(microseconds=1))
    twice = event(sid, "form_created", clock.now - timedelta(hours=1))
    response = await client.post(
        "/api/v1/events", json={"events": [at_limit, beyond, twice, twice, twice]}
    )
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 2, 1)
    assert [(e["index"], e["field"], e["reason"]) for e in body["errors"]] == [
        (1, "occurred_at", "is more than 5 minutes in the future")
    ]
