"""The Redis Streams bus against the real Redis: groups, shared work, a killed worker's events
claimed by another, per-supplier order after a failure, trimming, and the live fan-out
across two API processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from tests.conftest import REDIS_URL, FakeClock
from tests.events.redis_bus import (
    CONSUMED,
    create_effects_table,
    drop_effects_table,
    effect_writer,
    effects,
    enqueue_events,
    redis_bus,
)
from tests.factories import event, supplier
from tests.helpers import served
from tests.interventions.worker_process import SRC, WAIT_SECONDS, wait_for
from tests.web.signin import add_user, log_in
from wedsync_success.access.service import create_key
from wedsync_success.context import AppContext
from wedsync_success.events.dispatcher import Dispatcher
from wedsync_success.events.models import ConsumerReceipt, OutboxEvent
from wedsync_success.events.redis_transport import RedisStreamTransport
from wedsync_success.events.redis_worker import EVENTS_CLAIMED, StreamWorker
from wedsync_success.events.types import SuccessEvent

ROOT = SRC.parent


class Recorder:
    """A plain consumer remembering what it got; it fails while ``failing`` holds an event's
    (supplier, n)."""

    def __init__(self) -> None:
        self.seen: list[SuccessEvent] = []
        self.failing: set[tuple[uuid.UUID | None, int]] = set()

    async def __call__(self, event: SuccessEvent) -> None:
        if (event.supplier_id, event.payload["n"]) in self.failing:
            raise RuntimeError("consumer is down")
        self.seen.append(event)

    def order(self) -> dict[uuid.UUID | None, list[int]]:
        by_supplier: dict[uuid.UUID | None, list[int]] = defaultdict(list)
        for e in self.seen:
            by_supplier[e.supplier_id].append(e.payload["n"])
        return by_supplier


async def _publish(ctx: AppContext, transport: RedisStreamTransport, clock: FakeClock) -> int:
    return await Dispatcher(db=ctx.db, transport=transport, clock=clock).drain()


async def _pending(transport: RedisStreamTransport, group: str) -> int:
    total = 0
    for stream in transport.streams:
        total += int((await transport.client.xpending(stream, group))["pending"])
    return total


async def _receipts(ctx: AppContext, consumer: str) -> int:
    async with ctx.db.sessions() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(ConsumerReceipt)
                .where(ConsumerReceipt.consumer == consumer)
            )
            or 0
        )


@pytest.fixture
async def one_stream(redis_prefix: str) -> AsyncIterator[tuple[RedisStreamTransport, Recorder]]:
    """A bus of one stream with one recording consumer group, ``audit``."""
    transport = redis_bus(redis_prefix, shards=1)
    audit = Recorder()
    transport.subscribe("audit", audit)
    try:
        yield transport, audit
    finally:
        await transport.close()


@pytest.fixture
def effects_table() -> str:
    return f"bus_effects_{uuid.uuid4().hex[:10]}"


async def test_events_reach_every_group_once_in_supplier_order_and_a_repeat_runs_nothing(
    ctx: AppContext, clock: FakeClock, redis_prefix: str, effects_table: str
) -> None:
    transport = redis_bus(redis_prefix)
    audit = Recorder()
    transport.subscribe("audit", audit)
    transport.subscribe_batch("ledger", effect_writer(effects_table), CONSUMED)
    await create_effects_table(ctx.db, effects_table)
    suppliers = [uuid.uuid4() for _ in range(5)]
    try:
        await enqueue_events(ctx.db, suppliers=suppliers, per_supplier=10, at=clock.now)
        assert await _publish(ctx, transport, clock) == 50
        async with ctx.db.sessions() as session:
            unpublished = await session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None))
            )
        assert unpublished == 0
        lengths = [await transport.client.xlen(s) for s in transport.streams]
        assert sum(lengths) == 50

        worker = transport.consumer_worker(db=ctx.db, name="w1", clock=clock)
        assert await worker.drain() == 100  # 50 events, two groups
        assert audit.order() == {sid: list(range(10)) for sid in suppliers}
        assert sorted(await effects(ctx.db, effects_table)) == sorted(
            str(e.event_id) for e in audit.seen
        )
        assert await _receipts(ctx, "audit") == await _receipts(ctx, "ledger") == 50
        assert await _pending(transport, "audit") == await _pending(transport, "ledger") == 0

        # The dispatcher appends events again (its commit was lost after Redis took them):
        # the receipts make the redelivery a no-op, acknowledged all the same.
        await transport.publish(session=None, events=audit.seen, now=clock.now)  # type: ignore[arg-type]
        assert await worker.drain() == 100
        assert len(audit.seen) == 50
        assert len(await effects(ctx.db, effects_table)) == 50
        assert await _pending(transport, "audit") == await _pending(transport, "ledger") == 0
    finally:
        await transport.close()
        await drop_effects_table(ctx.db, effects_table)


async def test_a_failed_event_holds_its_suppliers_later_events_until_it_succeeds(
    ctx: AppContext, clock: FakeClock, one_stream: tuple[RedisStreamTransport, Recorder]
) -> None:
    transport, flaky = one_stream
    stuck, fine = uuid.uuid4(), uuid.uuid4()
    flaky.failing = {(stuck, 0)}
    worker = StreamWorker(transport, db=ctx.db, name="w1", clock=clock, retry_base_seconds=0)
    await enqueue_events(ctx.db, suppliers=[stuck, fine], per_supplier=3, at=clock.now)
    await _publish(ctx, transport, clock)
    assert await worker.drain() == 3
    assert flaky.order() == {fine: [0, 1, 2]}  # the stuck supplier's 1 and 2 wait for 0
    assert await _pending(transport, "audit") == 3

    # A new event of the stuck supplier arrives while it is still failing: held too.
    await enqueue_events(ctx.db, suppliers=[stuck], per_supplier=1, at=clock.now)
    await _publish(ctx, transport, clock)
    assert await worker.drain() == 0
    assert flaky.order() == {fine: [0, 1, 2]}

    flaky.failing = set()
    assert await worker.drain() == 4
    assert flaky.order() == {fine: [0, 1, 2], stuck: [0, 1, 2, 0]}
    assert [e.sequence for e in flaky.seen if e.supplier_id == stuck] == sorted(
        e.sequence for e in flaky.seen if e.supplier_id == stuck
    )
    assert await _pending(transport, "audit") == 0


async def test_entries_not_written_by_the_bus_are_skipped_and_acknowledged(
    ctx: AppContext, clock: FakeClock, one_stream: tuple[RedisStreamTransport, Recorder]
) -> None:
    transport, audit = one_stream
    sid = uuid.uuid4()
    await transport.ensure_groups()
    await enqueue_events(ctx.db, suppliers=[sid], per_supplier=2, at=clock.now)
    await _publish(ctx, transport, clock)
    for junk in ({"e": "not json"}, {"x": "1"}, {"e": '{"type": 3}'}, {"e": "[]"}):
        await transport.client.xadd(transport.stream(0), junk)  # type: ignore[arg-type]
    await enqueue_events(ctx.db, suppliers=[sid], per_supplier=1, at=clock.now)
    await _publish(ctx, transport, clock)
    worker = transport.consumer_worker(db=ctx.db, name="w1", clock=clock)
    assert await worker.drain() == 3
    assert audit.order() == {sid: [0, 1, 0]}
    assert await _pending(transport, "audit") == 0  # junk is not retried forever


async def test_appending_goes_on_after_redis_forgot_its_scripts(
    ctx: AppContext, clock: FakeClock, one_stream: tuple[RedisStreamTransport, Recorder]
) -> None:
    """Events are appended by a script called by its hash; a Redis restarted (or flushed)
    no longer has it, and the transport loads it again instead of failing the round."""
    transport, audit = one_stream
    sid = uuid.uuid4()
    worker = transport.consumer_worker(db=ctx.db, name="w1", clock=clock)
    await enqueue_events(ctx.db, suppliers=[sid], per_supplier=1, at=clock.now)
    assert await _publish(ctx, transport, clock) == 1
    await transport.client.script_flush()
    await enqueue_events(ctx.db, suppliers=[sid], per_supplier=2, at=clock.now)
    assert await _publish(ctx, transport, clock) == 2
    assert await worker.drain() == 3
    assert audit.order() == {sid: [0, 0, 1]}


async def test_a_stream_redis_refuses_fails_alone_and_its_events_are_retried(
    ctx: AppContext, clock: FakeClock, redis_prefix: str
) -> None:
    """One round appends to two streams; Redis refuses one (its key holds a string). Only
    that stream's events stay in the outbox, with Redis's reason, and go on the retry."""
    transport = redis_bus(redis_prefix, shards=2)
    audit = Recorder()
    transport.subscribe("audit", audit)
    worker = transport.consumer_worker(db=ctx.db, name="w1", clock=clock)
    sids = [uuid.uuid4() for _ in range(40)]
    fine = next(s for s in sids if transport.shard_of(s) == 0)
    refused = next(s for s in sids if transport.shard_of(s) == 1)
    try:
        await transport.ensure_groups()
        await transport.client.delete(transport.stream(1))
        await transport.client.set(transport.stream(1), "not a stream")
        await enqueue_events(ctx.db, suppliers=[fine, refused], per_supplier=2, at=clock.now)
        assert await _publish(ctx, transport, clock) == 2
        async with ctx.db.sessions() as session:
            waiting = (
                await session.execute(
                    select(OutboxEvent.supplier_id, OutboxEvent.last_error)
                    .where(OutboxEvent.published_at.is_(None))
                    .order_by(OutboxEvent.id)
                )
            ).all()
        assert [sid for sid, _ in waiting] == [refused, refused]
        assert all("WRONGTYPE" in (error or "") for _, error in waiting)

        await transport.client.delete(transport.stream(1))
        await transport.ensure_groups(recreate=True)
        clock.advance(seconds=1)
        assert await _publish(ctx, transport, clock) == 2
        assert await worker.drain() == 4
        assert audit.order() == {fine: [0, 1], refused: [0, 1]}
    finally:
        await transport.close()


async def test_a_worker_blocked_on_its_read_gets_a_new_entry_at_once(
    ctx: AppContext, clock: FakeClock, redis_prefix: str
) -> None:
    """The worker's read waits up to an hour for entries: only a blocking ``XREADGROUP``
    woken by the new entry (not a poll) can hand the event over before the test gives up."""
    name = f"{redis_prefix}-worker"
    transport = RedisStreamTransport(
        Redis.from_url(REDIS_URL, decode_responses=True, client_name=name),
        prefix=redis_prefix,
        shards=2,
        maxlen=1000,
        claim_idle=timedelta(seconds=30),
    )
    audit = Recorder()
    transport.subscribe("audit", audit)
    worker = StreamWorker(transport, db=ctx.db, name="w1", clock=clock, read_block_ms=3_600_000)

    async def blocked_reading() -> bool:
        clients = await transport.client.client_list()
        return any(
            c["name"] == name and c["cmd"] == "xreadgroup" and "b" in c["flags"] for c in clients
        )

    running = asyncio.create_task(worker.run(asyncio.Event()))
    try:
        await wait_for(blocked_reading, "the worker blocked in XREADGROUP")
        await enqueue_events(ctx.db, suppliers=[uuid.uuid4()], per_supplier=1, at=clock.now)
        assert await _publish(ctx, transport, clock) == 1
        await wait_for(lambda: len(audit.seen) == 1, "the event handed to the consumer")
    finally:
        running.cancel()  # its read would wait out the hour
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await transport.close()


async def test_groups_lost_with_redis_data_are_made_again_and_miss_nothing(
    ctx: AppContext, clock: FakeClock, one_stream: tuple[RedisStreamTransport, Recorder]
) -> None:
    transport, audit = one_stream
    sid = uuid.uuid4()
    worker = transport.consumer_worker(db=ctx.db, name="w1", clock=clock)
    await enqueue_events(ctx.db, suppliers=[sid], per_supplier=1, at=clock.now)
    await _publish(ctx, transport, clock)
    assert await worker.drain() == 1
    await transport.client.delete(transport.stream(0))  # Redis restarted without its data
    await enqueue_events(ctx.db, suppliers=[sid], per_supplier=2, at=clock.now)
    await _publish(ctx, transport, clock)  # the stream is made again, without groups
    assert await worker.drain() == 2
    assert audit.order() == {sid: [0, 0, 1]}


async def test_two_workers_split_the_streams_and_no_event_is_handled_twice(
    ctx: AppContext, clock: FakeClock, redis_prefix: str
) -> None:
    audit = Recorder()
    buses = [redis_bus(redis_prefix, shards=4) for _ in range(2)]
    for bus in buses:
        bus.subscribe("audit", audit)  # one consumer group, two processes' worth of workers
    first, second = (
        StreamWorker(bus, db=ctx.db, name=name, clock=clock)
        for bus, name in zip(buses, ("w1", "w2"), strict=True)
    )
    suppliers = [uuid.uuid4() for _ in range(40)]
    try:
        await buses[0].ensure_groups()
        assert await first.heartbeat() == {0, 1, 2, 3}  # alone: every stream
        assert await second.heartbeat() == set()  # all taken: it waits its turn
        assert await first.heartbeat() == {0, 1}  # two alive: gives back its extra share
        assert await second.heartbeat() == {2, 3}

        await enqueue_events(ctx.db, suppliers=suppliers, per_supplier=5, at=clock.now)
        await _publish(ctx, buses[0], clock)
        handled = {"w1": 0, "w2": 0}
        for _ in range(50):
            one, two = await asyncio.gather(first.work_once(), second.work_once())
            handled["w1"] += one
            handled["w2"] += two
            if one == two == 0:
                break
        assert handled["w1"] > 0
        assert handled["w2"] > 0
        assert handled["w1"] + handled["w2"] == 200
        assert len({e.event_id for e in audit.seen}) == len(audit.seen) == 200
        assert audit.order() == {sid: list(range(5)) for sid in suppliers}
        assert await _receipts(ctx, "audit") == 200
    finally:
        for bus in buses:
            await bus.close()


async def test_a_worker_killed_mid_batch_leaves_its_events_to_another_exactly_once(
    ctx: AppContext,
    clock: FakeClock,
    redis_prefix: str,
    effects_table: str,
    tmp_path: Path,
) -> None:
    claim_idle = 1.5
    transport = redis_bus(redis_prefix, claim_idle=claim_idle)
    transport.subscribe_batch("ledger", effect_writer(effects_table), CONSUMED)
    await create_effects_table(ctx.db, effects_table)
    marker = tmp_path / "stalled"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEDSYNC_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT), str(SRC), *filter(None, [env.get("PYTHONPATH")])]),
        BUS_DATABASE_URL=ctx.settings.database_url,
        BUS_PREFIX=redis_prefix,
        BUS_TABLE=effects_table,
        BUS_MARKER=str(marker),
        BUS_CLAIM_IDLE=str(claim_idle),
    )
    log = tmp_path / "doomed.log"
    claimed_before = EVENTS_CLAIMED.labels(consumer="ledger")._value.get()
    stop = asyncio.Event()
    with log.open("wb") as out:
        doomed = subprocess.Popen(  # noqa: ASYNC220 - returns at once
            [sys.executable, "-m", "tests.events.bus_worker_process"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        await transport.ensure_groups()
        await enqueue_events(
            ctx.db, suppliers=[uuid.uuid4() for _ in range(10)], per_supplier=3, at=clock.now
        )
        await _publish(ctx, transport, clock)
        await wait_for(marker.exists, f"the doomed worker to stall mid-batch ({log.read_text()})")
        assert await _pending(transport, "ledger") == 30  # delivered to it, not acknowledged
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=60)
        assert await effects(ctx.db, effects_table) == []  # its transaction died with it

        heir = transport.consumer_worker(db=ctx.db, name="heir", clock=clock)
        running = asyncio.create_task(heir.run(stop))

        async def handed_over() -> bool:
            return running.done() or await _pending(transport, "ledger") == 0

        await wait_for(handed_over, "the heir to claim and handle the dead worker's events")
        stop.set()
        await running
        rows = await effects(ctx.db, effects_table)
        assert len(rows) == len(set(rows)) == 30
        assert await _receipts(ctx, "ledger") == 30
        assert EVENTS_CLAIMED.labels(consumer="ledger")._value.get() - claimed_before == 30
    finally:
        stop.set()
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait(timeout=60)
        await transport.close()
        await drop_effects_table(ctx.db, effects_table)


async def test_streams_are_trimmed_to_about_their_maximum_length(
    ctx: AppContext, clock: FakeClock, redis_prefix: str
) -> None:
    transport = redis_bus(redis_prefix, shards=1, maxlen=100)
    transport.subscribe("audit", Recorder())
    try:
        await enqueue_events(ctx.db, suppliers=[uuid.uuid4()], per_supplier=1000, at=clock.now)
        assert await _publish(ctx, transport, clock) == 1000
        length = await transport.client.xlen(transport.stream(0))
        # MAXLEN ~ trims whole macro-nodes (100 entries each by default): roughly 100 kept.
        assert 100 <= length <= 200
        (_, fields), *_ = await transport.client.xrevrange(transport.stream(0), count=1)
        assert json.loads(fields["e"])["payload"]["n"] == 999  # the newest are kept
    finally:
        await transport.close()


async def test_an_event_ingested_on_one_api_process_reaches_live_pages_served_by_another(
    ctx: AppContext, database_url: str, redis_prefix: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several API processes need PostgreSQL (SQLite is one process's store)")
    await add_user(ctx)
    async with ctx.db.transaction() as session:
        key = await create_key(session=session, name="t", scopes=["admin"], now=ctx.clock())
    env = {
        "WEDSYNC_EVENT_BUS_URL": REDIS_URL,
        "WEDSYNC_EVENT_BUS_PREFIX": redis_prefix,
        "WEDSYNC_DISPATCH_INTERVAL_SECONDS": "0.2",
        "WEDSYNC_LOGIN_REFUSAL_DELAY_SECONDS": "0",
    }
    async with (
        served(database_url, env=env, start_timeout=WAIT_SECONDS) as ingesting,
        served(database_url, env=env, start_timeout=WAIT_SECONDS) as watching,
        httpx.AsyncClient(base_url=watching, timeout=30) as browser,
        httpx.AsyncClient(
            base_url=ingesting, headers={"Authorization": f"Bearer {key.secret}"}, timeout=30
        ) as api,
    ):
        assert (await log_in(browser)).status_code == 303
        async with browser.stream("GET", "/live") as live:
            assert live.status_code == 200
            lines = live.aiter_lines()
            await _line_containing(lines, "event: ready")
            sid = str(uuid.uuid4())
            body = {"suppliers": [supplier(id=sid)]}
            assert (await api.post("/api/v1/suppliers", json=body)).status_code == 200
            at = datetime.now(UTC) - timedelta(hours=1)
            ingested = await api.post(
                "/api/v1/events", json={"events": [event(sid, "form_created", at)]}
            )
            assert ingested.status_code == 200, ingested.text
            data = await _line_containing(lines, "first_form_created")
        frame = json.loads(data.removeprefix("data:").strip())
        assert frame["supplier_id"] == sid
        assert frame["type"] == "supplier.milestone_achieved"


async def _line_containing(lines: object, needle: str) -> str:
    async def find() -> str:
        async for line in lines:  # type: ignore[attr-defined]
            if needle in line:
                return str(line)
        raise AssertionError(f"the live stream ended before {needle!r}")

    with contextlib.suppress(TimeoutError):
        return await asyncio.wait_for(find(), timeout=120)
    raise AssertionError(f"{needle!r} did not reach the live stream within 120 s")
