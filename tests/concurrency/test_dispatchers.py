"""Two dispatchers on one database (a server and an import, say) never fail and never
deliver an event twice to a consumer; contention and the backlog show in /metrics."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import func, select, text

from tests.conftest import FakeClock
from wedsync_success.context import AppContext
from wedsync_success.db import create_database
from wedsync_success.events.bus import InProcessTransport
from wedsync_success.events.dispatcher import LOCK_CONTENTION, Dispatcher
from wedsync_success.events.models import ConsumerReceipt, OutboxEvent
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEvent, SuccessEventType
from wedsync_success.web.app import create_app

EVENTS = 600


async def _enqueue(ctx: AppContext, count: int, at: FakeClock) -> None:
    events = [
        NewEvent(
            event_type=SuccessEventType.MILESTONE_ACHIEVED,
            supplier_id=uuid.uuid4(),
            occurred_at=at.now,
            payload={"n": i},
        )
        for i in range(count)
    ]
    async with ctx.db.transaction() as session:
        await enqueue(session=session, events=events, now=at.now)


def _recording_transport(seen: dict[str, list[uuid.UUID]]) -> InProcessTransport:
    transport = InProcessTransport()
    for consumer in ("audit", "mail"):

        async def handler(event: SuccessEvent, consumer: str = consumer) -> None:
            seen[consumer].append(event.event_id)
            await asyncio.sleep(0)  # let the other dispatcher run in between

        transport.subscribe(consumer, handler)
    return transport


def _contention(backend: str) -> float:
    return LOCK_CONTENTION.labels(backend=backend)._value.get()


async def test_two_dispatchers_at_once_deliver_each_event_once_per_consumer(
    ctx: AppContext, clock: FakeClock
) -> None:
    await _enqueue(ctx, EVENTS, clock)
    seen: dict[str, list[uuid.UUID]] = {"audit": [], "mail": []}
    other_db = create_database(ctx.settings.database_url)  # as a second process would
    first = Dispatcher(db=ctx.db, transport=_recording_transport(seen), clock=clock, batch_size=50)
    second = Dispatcher(
        db=other_db, transport=_recording_transport(seen), clock=clock, batch_size=50
    )
    try:
        await asyncio.gather(first.drain(), second.drain(), first.drain(), second.drain())
        await first.drain()  # a round skipped for contention is picked up at the next wake
    finally:
        await other_db.dispose()
    async with ctx.db.sessions() as session:
        all_ids = set(await session.scalars(select(OutboxEvent.event_id)))
        pending = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))
        )
        receipts = await session.scalar(select(func.count()).select_from(ConsumerReceipt))
    for consumer, ids in seen.items():
        assert len(ids) == EVENTS, consumer
        assert set(ids) == all_ids, consumer
    assert pending == 0
    assert receipts == 2 * EVENTS


async def test_a_dispatcher_that_finds_the_lock_taken_counts_it(
    ctx: AppContext, clock: FakeClock
) -> None:
    """PostgreSQL: the round is skipped while another dispatcher holds the lock. SQLite: the
    round waits for the writer holding the database, then delivers."""
    await _enqueue(ctx, 3, clock)
    seen: dict[str, list[uuid.UUID]] = {"audit": [], "mail": []}
    dispatcher = Dispatcher(db=ctx.db, transport=_recording_transport(seen), clock=clock)
    before = _contention(ctx.db.dialect)
    async with ctx.db.transaction() as holder:
        if ctx.db.dialect == "postgresql":
            await holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": 0x5EDD15})
            stats = await dispatcher.dispatch_once()
            assert stats.delivered == 0
        else:
            waiting = asyncio.create_task(dispatcher.dispatch_once())
            for _ in range(1000):  # until the dispatcher has found the lock taken
                if _contention("sqlite") > before:
                    break
                await asyncio.sleep(0.005)
            assert not waiting.done()
    assert _contention(ctx.db.dialect) - before == 1
    if ctx.db.dialect == "sqlite":
        assert (await waiting).delivered == 3
    else:
        assert (await dispatcher.dispatch_once()).delivered == 3
    assert len(seen["audit"]) == 3


def _gauge(text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert found, name
    return float(found.group(1))


async def test_metrics_show_the_outbox_backlog_and_its_oldest_event(
    ctx: AppContext, clock: FakeClock, api_keys: dict[str, str]
) -> None:
    app = create_app(context=ctx, run_dispatcher=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        empty = (await http.get("/metrics")).text
        assert _gauge(empty, "wedsync_outbox_pending_events") == 0
        assert _gauge(empty, "wedsync_outbox_oldest_pending_age_seconds") == 0
        await _enqueue(ctx, 2, clock)
        clock.advance(seconds=30)
        await _enqueue(ctx, 3, clock)
        clock.advance(seconds=60)
        waiting = (await http.get("/metrics")).text
        assert _gauge(waiting, "wedsync_outbox_pending_events") == 5
        assert _gauge(waiting, "wedsync_outbox_oldest_pending_age_seconds") == 90
        assert "wedsync_dispatcher_lock_contention_total" in waiting
        await ctx.dispatcher.drain()
        clock.advance(seconds=timedelta(minutes=5).total_seconds())
        drained = (await http.get("/metrics")).text
        assert _gauge(drained, "wedsync_outbox_pending_events") == 0
        assert _gauge(drained, "wedsync_outbox_oldest_pending_age_seconds") == 0
