"""What consumers receive: only the types they asked for, the event as written, and the
built-in ones (metrics by type, the live hub that drops a slow listener's oldest events)."""

from __future__ import annotations

import uuid

from prometheus_client import REGISTRY
from sqlalchemy import select

from tests.conftest import FakeClock
from wedsync_success.context import AppContext
from wedsync_success.events.bus import InProcessTransport
from wedsync_success.events.consumers import count_for_metrics
from wedsync_success.events.dispatcher import Dispatcher
from wedsync_success.events.live import LISTENER_QUEUE_SIZE, LiveHub
from wedsync_success.events.models import OutboxEvent
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEvent, SuccessEventType


class Recorder:
    def __init__(self) -> None:
        self.seen: list[SuccessEvent] = []

    async def __call__(self, event: SuccessEvent) -> None:
        self.seen.append(event)


async def test_a_consumer_gets_only_its_types_with_every_field(
    ctx: AppContext, clock: FakeClock
) -> None:
    supplier_id = uuid.uuid4()
    written = [
        NewEvent(
            SuccessEventType.MILESTONE_ACHIEVED, supplier_id, clock.now, {"milestone": "first"}
        ),
        NewEvent(SuccessEventType.HEALTH_DECLINED, supplier_id, clock.now, {"score": 40}),
        NewEvent(SuccessEventType.MILESTONE_ACHIEVED, None, clock.now, {"milestone": "any"}),
    ]
    async with ctx.db.transaction() as session:
        await enqueue(session=session, events=written, now=clock.now)
    everything, milestones = Recorder(), Recorder()
    transport = InProcessTransport()
    transport.subscribe("everything", everything)
    transport.subscribe("milestones", milestones, event_types=["supplier.milestone_achieved"])
    assert await Dispatcher(db=ctx.db, transport=transport, clock=clock).drain() == 3

    got = [(e.event_type, e.supplier_id, e.occurred_at, e.payload) for e in everything.seen]
    assert got == [(str(w.event_type), w.supplier_id, w.occurred_at, w.payload) for w in written]
    assert [e.payload for e in milestones.seen] == [{"milestone": "first"}, {"milestone": "any"}]
    assert len({e.event_id for e in everything.seen}) == 3
    assert [e.sequence for e in everything.seen] == sorted(e.sequence for e in everything.seen)


def _delivered(event_type: str) -> float:
    value = REGISTRY.get_sample_value(
        "wedsync_success_events_delivered_total", {"type": event_type}
    )
    return value or 0.0


async def test_the_metrics_consumer_counts_by_type(clock: FakeClock) -> None:
    event = SuccessEvent(
        sequence=1,
        event_id=uuid.uuid4(),
        event_type="supplier.success_champion",
        supplier_id=None,
        occurred_at=clock.now,
        payload={},
    )
    before = _delivered("supplier.success_champion"), _delivered("supplier.health_improved")
    await count_for_metrics(event)
    await count_for_metrics(event)
    after = _delivered("supplier.success_champion"), _delivered("supplier.health_improved")
    assert (after[0] - before[0], after[1] - before[1]) == (2.0, 0.0)


async def test_a_full_listener_loses_its_oldest_events_not_the_new_ones(
    clock: FakeClock,
) -> None:
    hub = LiveHub()

    def numbered(n: int) -> SuccessEvent:
        return SuccessEvent(n, uuid.uuid4(), "supplier.health_improved", None, clock.now, {})

    async with hub.listen() as slow, hub.listen() as other:
        assert hub.listeners == 2
        for n in range(LISTENER_QUEUE_SIZE + 2):
            await hub.publish(numbered(n))
        kept = [slow.get_nowait().sequence for _ in range(slow.qsize())]
        assert kept == list(range(2, LISTENER_QUEUE_SIZE + 2))
        assert other.qsize() == LISTENER_QUEUE_SIZE
    assert hub.listeners == 0


class Failing:
    def __init__(self, message: str) -> None:
        self.message = message

    async def __call__(self, event: SuccessEvent) -> None:
        raise RuntimeError(self.message)


async def test_a_failing_consumer_does_not_stop_the_ones_after_it(
    ctx: AppContext, clock: FakeClock
) -> None:
    supplier_id = uuid.uuid4()
    async with ctx.db.transaction() as session:
        await enqueue(
            session=session,
            events=[NewEvent(SuccessEventType.HEALTH_IMPROVED, supplier_id, clock.now, {})],
            now=clock.now,
        )
    healthy = Recorder()
    transport = InProcessTransport()
    transport.subscribe("crm", Failing("crm is down"))
    transport.subscribe("mail", Failing("mail is down"))
    transport.subscribe("healthy", healthy)
    dispatcher = Dispatcher(db=ctx.db, transport=transport, clock=clock)
    assert await dispatcher.drain() == 0
    assert len(healthy.seen) == 1
    async with ctx.db.sessions() as session:
        row = await session.scalar(select(OutboxEvent))
    assert row is not None
    assert row.last_error == "crm: RuntimeError('crm is down'); mail: RuntimeError('mail is down')"


def test_the_json_form_of_an_event(clock: FakeClock) -> None:
    event_id, supplier_id = uuid.uuid4(), uuid.uuid4()
    event = SuccessEvent(7, event_id, "supplier.health_improved", supplier_id, clock.now, {"a": 1})
    assert event.to_json() == {
        "sequence": 7,
        "event_id": str(event_id),
        "type": "supplier.health_improved",
        "supplier_id": str(supplier_id),
        "occurred_at": "2026-06-15T12:00:00+00:00",
        "payload": {"a": 1},
    }
    anonymous = SuccessEvent(8, event_id, "supplier.health_improved", None, clock.now, {})
    assert anonymous.to_json()["supplier_id"] is None


async def test_a_long_error_is_kept_to_2000_characters(ctx: AppContext, clock: FakeClock) -> None:
    async with ctx.db.transaction() as session:
        await enqueue(
            session=session,
            events=[NewEvent(SuccessEventType.HEALTH_IMPROVED, None, clock.now, {})],
            now=clock.now,
        )
    transport = InProcessTransport()
    transport.subscribe("verbose", Failing("x" * 5000))
    await Dispatcher(db=ctx.db, transport=transport, clock=clock).drain()
    async with ctx.db.sessions() as session:
        row = await session.scalar(select(OutboxEvent))
    assert row is not None
    assert row.last_error == ("verbose: RuntimeError('" + "x" * 5000)[:2000]
