"""Which process does what on a Redis bus: an API process publishes and feeds its live hub
but runs no consumer and no worker; ``wedsync-success worker`` runs the consumers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import select

from tests.conftest import REDIS_URL, TEST_SECRET_KEY, FakeClock
from tests.events.redis_bus import enqueue_events
from tests.interventions.worker_process import SRC
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.events.models import ConsumerReceipt, OutboxEvent
from wedsync_success.events.redis_transport import RedisStreamTransport
from wedsync_success.web.app import create_app


@pytest.fixture
def emptied(ctx: AppContext) -> AppContext:
    """The test database, emptied (the tests build contexts of their own on it)."""
    return ctx


def _settings(database_url: str, prefix: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        event_bus_url=REDIS_URL,
        event_bus_prefix=prefix,
        dispatch_interval_seconds=0.2,
    )


async def _published(ctx: AppContext) -> None:
    """Return once the outbox row is marked published."""
    while True:
        async with ctx.db.sessions() as session:
            if await session.scalar(select(OutboxEvent.published_at)) is not None:
                return
        await asyncio.sleep(0.05)


async def test_an_api_process_publishes_and_feeds_its_live_hub_but_runs_no_consumer(
    emptied: AppContext, redis_prefix: str, clock: FakeClock
) -> None:
    ctx = build_context(_settings(emptied.settings.database_url, redis_prefix), clock=clock)
    assert isinstance(ctx.transport, RedisStreamTransport)
    app = create_app(context=ctx)
    sid = uuid.uuid4()
    try:
        async with app.router.lifespan_context(app), ctx.live.listen() as queue:
            await enqueue_events(ctx.db, suppliers=[sid], per_supplier=1, at=clock.now)
            ctx.dispatcher.notify()
            live = await asyncio.wait_for(queue.get(), timeout=120)
            assert live.supplier_id == sid
            # The live tail may read the stream before the dispatcher commits published_at.
            await asyncio.wait_for(_published(ctx), timeout=30)
            async with ctx.db.sessions() as session:
                assert list(await session.scalars(select(ConsumerReceipt.consumer))) == []
            assert ctx.interventions._worker is None  # left to `wedsync-success worker`
            assert ctx.webhooks._worker is None
    finally:
        await ctx.close()


async def test_the_worker_command_runs_the_consumers_of_a_redis_bus(
    emptied: AppContext, redis_prefix: str, clock: FakeClock
) -> None:
    database_url = emptied.settings.database_url
    ctx = build_context(_settings(database_url, redis_prefix), clock=clock)
    assert isinstance(ctx.transport, RedisStreamTransport)
    try:
        await ctx.transport.ensure_groups()
        await enqueue_events(ctx.db, suppliers=[uuid.uuid4()], per_supplier=3, at=clock.now)
        assert await ctx.dispatcher.drain() == 3
        env = {k: v for k, v in os.environ.items() if not k.startswith("WEDSYNC_")}
        env.update(
            PYTHONPATH=os.pathsep.join([str(SRC), *filter(None, [env.get("PYTHONPATH")])]),
            WEDSYNC_DATABASE_URL=database_url,
            WEDSYNC_SECRET_KEY=TEST_SECRET_KEY,
            WEDSYNC_EVENT_BUS_URL=REDIS_URL,
            WEDSYNC_EVENT_BUS_PREFIX=redis_prefix,
        )
        done = subprocess.run(  # noqa: ASYNC221 - the command runs to its end
            [sys.executable, "-m", "wedsync_success.cli", "worker", "--once"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr

        async with ctx.db.sessions() as session:
            receipts = list(await session.scalars(select(ConsumerReceipt.consumer)))
        assert receipts.count("metrics") == 3  # the consumer of every event
        for stream in ctx.transport.streams:
            assert (await ctx.transport.client.xpending(stream, "metrics"))["pending"] == 0
    finally:
        await ctx.close()
