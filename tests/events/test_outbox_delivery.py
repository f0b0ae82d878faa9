"""The outbox: committed events survive a crash before dispatch and reach each consumer once."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.context import AppContext
from wedsync_success.events.bus import InProcessTransport
from wedsync_success.events.dispatcher import Dispatcher
from wedsync_success.events.models import OutboxEvent
from wedsync_success.events.types import SuccessEvent


class Recorder:
    """A consumer that remembers what it got and can be told to fail."""

    def __init__(self) -> None:
        self.seen: list[SuccessEvent] = []
        self.fail_on: set[str] = set()

    async def __call__(self, event: SuccessEvent) -> None:
        if event.payload.get("milestone") in self.fail_on:
            raise RuntimeError("consumer is down")
        self.seen.append(event)


def _fresh_dispatcher(ctx: AppContext, clock: FakeClock, **consumers: Recorder) -> Dispatcher:
    """What a restarted process builds: a new transport and dispatcher over the same database."""
    transport = InProcessTransport()
    for name, handler in consumers.items():
        transport.subscribe(name, handler)
    return Dispatcher(db=ctx.db, transport=transport, clock=clock)


async def _pending(ctx: AppContext) -> int:
    async with ctx.db.sessions() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None))
            )
            or 0
        )


async def test_event_committed_before_a_crash_is_delivered_once_per_consumer(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    # The API commits the milestone and its outbox row; the process "dies" before dispatching.
    await ingest(client, [event(sid, "form_created", clock.now - timedelta(hours=1))])
    assert await _pending(ctx) >= 1

    dashboard, marketing = Recorder(), Recorder()
    restarted = _fresh_dispatcher(ctx, clock, dashboard=dashboard, marketing=marketing)
    delivered = await restarted.drain()

    assert delivered >= 1
    milestones = [e for e in dashboard.seen if e.event_type == "supplier.milestone_achieved"]
    assert [e.payload["milestone"] for e in milestones] == ["first_form_created"]
    assert [e.event_id for e in marketing.seen] == [e.event_id for e in dashboard.seen]
    assert await _pending(ctx) == 0

    again = _fresh_dispatcher(ctx, clock, dashboard=dashboard, marketing=marketing)
    assert await again.drain() == 0
    assert (
        len(dashboard.seen) == len(marketing.seen) == len(set(e.event_id for e in dashboard.seen))
    )


async def test_a_failing_consumer_is_retried_alone_and_keeps_supplier_order(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    await ingest(client, [event(sid, "form_created", clock.now - timedelta(hours=2))])
    await ingest(client, [event(sid, "client_added", clock.now - timedelta(hours=1))])
    healthy, flaky = Recorder(), Recorder()
    flaky.fail_on = {"first_form_created"}
    dispatcher = _fresh_dispatcher(ctx, clock, healthy=healthy, flaky=flaky)

    await dispatcher.drain()
    # The first milestone failed for `flaky`, so nothing later of this supplier went anywhere.
    assert [e.payload.get("milestone") for e in healthy.seen if "milestone" in e.payload] == [
        "first_form_created"
    ]
    assert flaky.seen == [] or all(e.supplier_id != sid for e in flaky.seen)
    async with ctx.db.sessions() as session:
        failed = await session.scalar(
            select(OutboxEvent).where(OutboxEvent.attempts > 0).order_by(OutboxEvent.id).limit(1)
        )
    assert failed is not None
    assert "consumer is down" in (failed.last_error or "")
    assert failed.next_attempt_at == clock.now + timedelta(seconds=1)

    await dispatcher.drain()  # still backing off: nothing moves
    assert len([e for e in flaky.seen if e.supplier_id is not None]) == 0

    flaky.fail_on = set()
    clock.advance(seconds=2)
    await dispatcher.drain()
    flaky_milestones = [e.payload["milestone"] for e in flaky.seen if "milestone" in e.payload]
    healthy_milestones = [e.payload["milestone"] for e in healthy.seen if "milestone" in e.payload]
    assert flaky_milestones == ["first_form_created", "first_client_added"]
    assert healthy_milestones == ["first_form_created", "first_client_added"]  # no repeat
    assert [e.sequence for e in flaky.seen] == sorted(e.sequence for e in flaky.seen)
    assert await _pending(ctx) == 0


async def test_consumer_names_are_unique() -> None:
    transport = InProcessTransport()
    transport.subscribe("dashboard", Recorder())
    with pytest.raises(ValueError, match="already subscribed"):
        transport.subscribe("dashboard", Recorder())


async def test_success_event_log_lists_newest_first(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    await ingest(client, [event(sid, "form_created", clock.now - timedelta(hours=2))])
    await ingest(client, [event(sid, "client_added", clock.now - timedelta(hours=1))])
    log = (
        await client.get("/api/v1/success-events", params={"type": "supplier.milestone_achieved"})
    ).json()
    assert [i["payload"]["milestone"] for i in log["items"]] == [
        "first_client_added",
        "first_form_created",
    ]
    bad = await client.get("/api/v1/success-events", params={"type": "nope"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "type"
