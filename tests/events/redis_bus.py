"""Shared pieces of the Redis bus tests: a transport on the test's prefix, events in the
outbox, and a consumer whose effect is a row in a table of the test's own (so a duplicate
effect would show as a second row, which receipts alone could never show)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import REDIS_URL
from wedsync_success.db import Database
from wedsync_success.events.bus import BatchHandler
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.redis_transport import RedisStreamTransport
from wedsync_success.events.types import NewEvent, SuccessEvent, SuccessEventType

CONSUMED = [str(SuccessEventType.MILESTONE_ACHIEVED)]


def redis_bus(
    prefix: str, *, shards: int = 2, maxlen: int = 10_000, claim_idle: float = 30.0
) -> RedisStreamTransport:
    return RedisStreamTransport(
        Redis.from_url(REDIS_URL, decode_responses=True),
        prefix=prefix,
        shards=shards,
        maxlen=maxlen,
        claim_idle=timedelta(seconds=claim_idle),
    )


async def enqueue_events(
    db: Database, *, suppliers: Sequence[uuid.UUID], per_supplier: int, at: datetime
) -> None:
    """``per_supplier`` milestone events for each supplier, interleaved, numbered ``n``."""
    events = [
        NewEvent(
            event_type=SuccessEventType.MILESTONE_ACHIEVED,
            supplier_id=sid,
            occurred_at=at,
            payload={"n": n},
        )
        for n in range(per_supplier)
        for sid in suppliers
    ]
    async with db.transaction() as session:
        await enqueue(session=session, events=events, now=at)


async def create_effects_table(db: Database, table: str) -> None:
    async with db.transaction() as session:
        await session.execute(text(f"CREATE TABLE {table} (event_id VARCHAR(36) NOT NULL)"))


async def drop_effects_table(db: Database, table: str) -> None:
    async with db.transaction() as session:
        await session.execute(text(f"DROP TABLE IF EXISTS {table}"))


async def effects(db: Database, table: str) -> list[str]:
    async with db.sessions() as session:
        return list(await session.scalars(text(f"SELECT event_id FROM {table}")))


def effect_writer(table: str) -> BatchHandler:
    """A transactional consumer writing one row per event it is handed."""

    async def write(session: AsyncSession, events: Sequence[SuccessEvent], now: datetime) -> None:
        await session.execute(
            text(f"INSERT INTO {table} (event_id) VALUES (:e)"),
            [{"e": str(e.event_id)} for e in events],
        )

    return write
