"""Guards of the dispatcher: one active dispatcher on PostgreSQL, and a capped backoff.

Written against the public behaviour (``Dispatcher``, a transport's consumers, the outbox),
not against how the dispatcher elects itself or schedules retries.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import FakeClock
from wedsync_success.context import AppContext
from wedsync_success.events.bus import InProcessTransport, PublishOutcome
from wedsync_success.events.dispatcher import Dispatcher
from wedsync_success.events.models import OutboxEvent
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEvent, SuccessEventType

SAFETY = 60  # seconds: only stops a hung test, never decides a result


async def _enqueue(ctx: AppContext, n: int) -> None:
    supplier_id = uuid.uuid4()
    async with ctx.db.transaction() as session:
        await enqueue(
            session=session,
            events=[
                NewEvent(
                    event_type=SuccessEventType.MILESTONE_ACHIEVED,
                    supplier_id=supplier_id,
                    occurred_at=ctx.clock(),
                    payload={"n": i},
                )
                for i in range(n)
            ],
            now=ctx.clock(),
        )


class Gate:
    """A consumer that stops inside its first delivery until it is let through."""

    def __init__(self) -> None:
        self.seen: list[SuccessEvent] = []
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, event: SuccessEvent) -> None:
        self.entered.set()
        await self.release.wait()
        self.seen.append(event)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[SuccessEvent] = []

    async def __call__(self, event: SuccessEvent) -> None:
        self.seen.append(event)


def _dispatcher(
    ctx: AppContext, clock: FakeClock, consumer: object, **options: object
) -> Dispatcher:
    transport = InProcessTransport()
    transport.subscribe("consumer", consumer)  # type: ignore[arg-type]
    return Dispatcher(db=ctx.db, transport=transport, clock=clock, **options)  # type: ignore[arg-type]


async def test_a_second_dispatcher_delivers_nothing_while_one_is_active(
    ctx: AppContext, clock: FakeClock
) -> None:
    if ctx.db.dialect != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's; SQLite's election is tested elsewhere")
    await _enqueue(ctx, 3)
    first_consumer, second_consumer = Gate(), Recorder()
    first = _dispatcher(ctx, clock, first_consumer)
    second = _dispatcher(ctx, clock, second_consumer)

    active = asyncio.create_task(first.drain())
    await asyncio.wait_for(first_consumer.entered.wait(), SAFETY)  # first is mid-delivery
    stats = await asyncio.wait_for(second.dispatch_once(), SAFETY)
    assert (stats.delivered, stats.failed, stats.held_back) == (0, 0, 0)
    assert second_consumer.seen == []

    first_consumer.release.set()
    assert await asyncio.wait_for(active, SAFETY) == 3
    assert await second.drain() == 0
    assert [e.payload["n"] for e in first_consumer.seen] == [0, 1, 2]
    assert second_consumer.seen == []


class AlwaysFailing:
    def __init__(self) -> None:
        self.attempts = 0

    async def __call__(self, event: SuccessEvent) -> None:
        self.attempts += 1
        raise RuntimeError("consumer is down")


async def test_retries_back_off_exponentially_up_to_the_cap(
    ctx: AppContext, clock: FakeClock
) -> None:
    """Each retry comes exactly when the doubling delay (capped at ``max_backoff``) is up."""
    base, cap = timedelta(seconds=1), timedelta(seconds=8)
    await _enqueue(ctx, 1)
    consumer = AlwaysFailing()
    dispatcher = _dispatcher(ctx, clock, consumer, base_backoff=base, max_backoff=cap)
    await dispatcher.drain()
    assert consumer.attempts == 1
    just_before = timedelta(microseconds=1)
    for failures in range(1, 8):
        delay = min(base * 2 ** (failures - 1), cap)  # 1, 2, 4, 8, 8, 8, 8 s
        clock.now += delay - just_before
        await dispatcher.drain()
        assert consumer.attempts == failures, f"retried before {delay} after failure {failures}"
        clock.advance(microseconds=1)
        await dispatcher.drain()
        assert consumer.attempts == failures + 1, f"not retried {delay} after failure {failures}"


class Signal:
    """A consumer that lets the test wait until an event has arrived."""

    def __init__(self) -> None:
        self.seen: list[SuccessEvent] = []
        self.arrived = asyncio.Event()

    async def __call__(self, event: SuccessEvent) -> None:
        self.seen.append(event)
        self.arrived.set()


class BrokenOnce(InProcessTransport):
    """A transport whose first publish fails as a broker outage would."""

    def __init__(self) -> None:
        super().__init__()
        self.outages = 1

    async def publish(self, **kwargs: Any) -> PublishOutcome:
        if self.outages:
            self.outages -= 1
            raise ConnectionError("broker unreachable")
        return await super().publish(**kwargs)


async def test_the_running_loop_wakes_on_notify_and_survives_an_outage(
    ctx: AppContext, clock: FakeClock
) -> None:
    """The poll interval is an hour, so only ``notify`` can explain a delivery."""
    consumer = Signal()
    transport = BrokenOnce()
    transport.subscribe("consumer", consumer)
    dispatcher = Dispatcher(db=ctx.db, transport=transport, clock=clock)
    stop = asyncio.Event()
    loop = asyncio.create_task(dispatcher.run(stop, interval=3600))
    try:
        await _enqueue(ctx, 1)
        dispatcher.notify()  # the first round meets the outage; the loop must stay up
        await _enqueue(ctx, 1)
        dispatcher.notify()
        await asyncio.wait_for(consumer.arrived.wait(), SAFETY)
        assert transport.outages == 0
        assert not loop.done()
    finally:
        stop.set()
        dispatcher.notify()
        await asyncio.wait_for(loop, SAFETY)
    assert len(consumer.seen) >= 1
    assert loop.exception() is None


class FailingFor:
    """Records what it gets; fails for the events whose payload ``n`` is in ``fail``."""

    def __init__(self, *fail: int) -> None:
        self.fail = set(fail)
        self.seen: list[int] = []

    async def __call__(self, event: SuccessEvent) -> None:
        if event.payload["n"] in self.fail:
            raise RuntimeError(f"cannot take {event.payload['n']}")
        self.seen.append(event.payload["n"])


async def _enqueue_for(ctx: AppContext, supplier_id: uuid.UUID, *numbers: int) -> None:
    async with ctx.db.transaction() as session:
        await enqueue(
            session=session,
            events=[
                NewEvent(SuccessEventType.HEALTH_IMPROVED, supplier_id, ctx.clock(), {"n": n})
                for n in numbers
            ],
            now=ctx.clock(),
        )


async def test_a_supplier_waiting_for_a_retry_holds_back_its_later_events(
    ctx: AppContext, clock: FakeClock
) -> None:
    """Events 1 (supplier B) and 2 (supplier A) go first; 2 fails. Event 3 of A arrives
    during the backoff and must wait behind 2, while B's event 4 goes straight through."""
    a, b = uuid.uuid4(), uuid.uuid4()
    consumer = FailingFor(2)
    dispatcher = _dispatcher(ctx, clock, consumer, batch_size=10)
    await _enqueue_for(ctx, b, 1)
    await _enqueue_for(ctx, a, 2)
    first = await dispatcher.dispatch_once()
    assert (first.delivered, first.failed, first.held_back) == (1, 1, 0)

    await _enqueue_for(ctx, a, 3)
    await _enqueue_for(ctx, b, 4)
    waiting = await dispatcher.dispatch_once()  # 2 is backing off: 3 waits behind it
    assert (waiting.delivered, waiting.failed, waiting.held_back) == (1, 0, 2)
    assert consumer.seen == [1, 4]

    consumer.fail.clear()
    clock.advance(seconds=1)
    assert await dispatcher.drain() == 2
    assert consumer.seen == [1, 4, 2, 3]
    async with ctx.db.sessions() as session:
        rows = (await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))).all()
    before, now = clock.now - timedelta(seconds=1), clock.now
    assert [r.published_at for r in rows] == [before, now, now, before]  # events 1, 2, 3, 4
    retried = rows[1]
    assert (retried.attempts, retried.next_attempt_at, retried.last_error) == (1, None, None)


async def test_without_a_notify_the_poll_finds_new_events(
    ctx: AppContext, clock: FakeClock
) -> None:
    """A zero interval: each wait times out at once and the loop polls again."""
    consumer = Signal()
    dispatcher = _dispatcher(ctx, clock, consumer)
    stop = asyncio.Event()
    loop = asyncio.create_task(dispatcher.run(stop, interval=0))
    try:
        await _enqueue(ctx, 1)
        await asyncio.wait_for(consumer.arrived.wait(), SAFETY)
    finally:
        stop.set()
        await asyncio.wait_for(loop, SAFETY)
    assert [e.payload["n"] for e in consumer.seen] == [0]


async def test_a_failure_blocks_only_its_own_supplier_within_a_round(
    ctx: AppContext, clock: FakeClock
) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    consumer = FailingFor(1)
    dispatcher = _dispatcher(ctx, clock, consumer)
    await _enqueue_for(ctx, a, 1, 2)
    await _enqueue_for(ctx, b, 3)
    stats = await dispatcher.dispatch_once()
    assert (stats.delivered, stats.failed, stats.held_back) == (1, 2, 0)
    assert consumer.seen == [3]
    async with ctx.db.sessions() as session:
        rows = (await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))).all()
    errors = [r.last_error for r in rows]
    assert errors == [
        "consumer: RuntimeError('cannot take 1')",
        "an earlier event of this supplier is pending",
        None,
    ]


async def test_one_round_takes_at_most_a_batch(ctx: AppContext, clock: FakeClock) -> None:
    consumer = FailingFor()
    dispatcher = _dispatcher(ctx, clock, consumer, batch_size=2)
    await _enqueue_for(ctx, uuid.uuid4(), 0, 1, 2, 3, 4)
    assert (await dispatcher.dispatch_once()).delivered == 2
    assert consumer.seen == [0, 1]
    assert await dispatcher.drain() == 3
    assert consumer.seen == [0, 1, 2, 3, 4]


class CountingRounds(InProcessTransport):
    """Counts the rounds that reached the transport (every round hands it its events)."""

    def __init__(self) -> None:
        super().__init__()
        self.rounds = 0

    async def publish(self, **kwargs: Any) -> PublishOutcome:
        self.rounds += 1
        return await super().publish(**kwargs)


async def test_a_drain_of_less_than_a_batch_takes_one_round(
    ctx: AppContext, clock: FakeClock
) -> None:
    """The round saw the whole outbox, so no second round looks for what is not there; a
    round that filled its batch is followed by another."""
    transport = CountingRounds()
    consumer = FailingFor()
    transport.subscribe("consumer", consumer)
    dispatcher = Dispatcher(db=ctx.db, transport=transport, clock=clock, batch_size=3)
    await _enqueue_for(ctx, uuid.uuid4(), 0, 1)
    assert await dispatcher.drain() == 2
    assert transport.rounds == 1
    await _enqueue_for(ctx, uuid.uuid4(), 2, 3, 4, 5)
    assert await dispatcher.drain() == 4
    assert transport.rounds == 3  # 3 (a full batch), then 1
    assert consumer.seen == [0, 1, 2, 3, 4, 5]


class Contending(Dispatcher):
    """A dispatcher that lets the test wait until one of its rounds found the lock taken."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.contended = asyncio.Event()

    def _note_contention(self) -> None:
        super()._note_contention()
        self.contended.set()


async def test_a_dispatcher_that_found_the_lock_taken_looks_again_soon(
    ctx: AppContext, clock: FakeClock
) -> None:
    """The active dispatcher read the outbox before the second event committed and stops
    after its round; the other found the lock taken. Its poll interval is an hour, so only
    its early retry can deliver the second event."""
    if ctx.db.dialect != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's; a SQLite round waits for the lock")
    first_consumer, second_consumer = Gate(), Signal()
    first = _dispatcher(ctx, clock, first_consumer)
    transport = InProcessTransport()
    transport.subscribe("consumer", second_consumer)
    second = Contending(db=ctx.db, transport=transport, clock=clock)
    await _enqueue(ctx, 1)
    active = asyncio.create_task(first.drain())
    await asyncio.wait_for(first_consumer.entered.wait(), SAFETY)  # holds the lock
    await _enqueue(ctx, 1)
    stop = asyncio.Event()
    loop = asyncio.create_task(second.run(stop, interval=3600))
    try:
        second.notify()
        await asyncio.wait_for(second.contended.wait(), SAFETY)  # its round met the lock
        first_consumer.release.set()
        assert await asyncio.wait_for(active, SAFETY) == 1
        await asyncio.wait_for(second_consumer.arrived.wait(), SAFETY)
    finally:
        stop.set()
        second.notify()
        await asyncio.wait_for(loop, SAFETY)
    assert len(first_consumer.seen) == 1
    assert [e.event_id for e in second_consumer.seen] != [first_consumer.seen[0].event_id]
    assert len(second_consumer.seen) == 1
