"""A worker process's share of the Redis bus: consumer groups read, handled and acknowledged.

Streams are owned, one worker each, through leases in Redis (``PREFIX:lease:N``, renewed on a
heartbeat). Live workers register in ``PREFIX:workers`` and each takes its fair share of the
streams, so N workers split the work and a stream's events are handled by one worker at a
time, in order: that is what keeps one supplier's events in order across processes.

For each consumer group a worker reads new entries of its streams (``XREADGROUP``), hands them
to the consumer through an in-process transport of that consumer alone, in a database
transaction of its own that also writes the receipts, and acknowledges (``XACK``) what was
handled once that committed. A redelivered event whose receipt exists is acknowledged
without being handled again, so effects stay exactly-once.

A failed event stays pending; later events of its supplier in the group are held (left
pending, unacknowledged) until it succeeds, retried with exponential backoff by re-reading
this worker's pending entries in order. When a worker dies its leases run out after
``event_bus_claim_idle_seconds``; the stream's next owner claims the entries still pending
(``XAUTOCLAIM`` of those idle that long) and reads no new entry of that stream before them.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from prometheus_client import Counter
from redis.exceptions import ResponseError

from wedsync_success.db import Database
from wedsync_success.events.redis_transport import Entry, RedisStreamTransport, read_entries
from wedsync_success.events.types import SuccessEvent
from wedsync_success.kit.clock import Clock

log = structlog.get_logger(__name__)

READ_BLOCK_MS = 1000
"""How long one ``XREADGROUP`` waits for new entries before the worker looks around again
(claims, retries); a new entry ends the wait at once, so this is no delivery delay."""
MAX_BACKOFF_SECONDS = 60.0

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""

EVENTS_ACKED = Counter(
    "wedsync_bus_events_acked_total",
    "Events a consumer group handled (or found already handled) and acknowledged on Redis.",
    ["consumer"],
)
EVENTS_CLAIMED = Counter(
    "wedsync_bus_events_claimed_total",
    "Pending events claimed from a silent worker (XAUTOCLAIM).",
    ["consumer"],
)


@dataclass
class _GroupState:
    """What one worker remembers of one consumer group between rounds."""

    settled: set[int] = field(default_factory=set)
    """Owned streams whose earlier owners left nothing pending: new entries may be read."""
    blocked: set[uuid.UUID | None] = field(default_factory=set)
    """Suppliers with a failed event pending: their later events are held."""
    has_pending: bool = True  # unknown at start: look
    failures: int = 0
    retry_at: float = 0.0  # time.monotonic()
    claim_at: float = 0.0  # time.monotonic(): when to look for a silent worker's entries


class StreamWorker:
    """Runs this process's share of every consumer group of a Redis transport."""

    def __init__(
        self,
        transport: RedisStreamTransport,
        *,
        db: Database,
        name: str,
        clock: Clock,
        after_delivery: Callable[[], None] | None = None,
        retry_base_seconds: float = 1.0,
        read_block_ms: int = READ_BLOCK_MS,
    ) -> None:
        self._transport = transport
        self._read_block_ms = read_block_ms
        self._retry_base = retry_base_seconds
        self._redis = transport.client
        self._db = db
        self.name = name
        self._clock = clock
        self._after_delivery = after_delivery
        self.owned: set[int] = set()
        self._state = {group: _GroupState() for group in transport.groups}
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)
        self._lease_ms = max(1, int(transport.claim_idle.total_seconds() * 1000))

    @property
    def heartbeat_seconds(self) -> float:
        return self._lease_ms / 3000

    def _lease(self, shard: int) -> str:
        return f"{self._transport.prefix}:lease:{shard}"

    @property
    def _members(self) -> str:
        return f"{self._transport.prefix}:workers"

    # --- leases ---------------------------------------------------------------------------------

    async def heartbeat(self) -> set[int]:
        """Say this worker is alive, renew its leases and take or give back streams so that
        every live worker holds its fair share; returns the streams it owns now."""
        seconds, micros = await self._redis.time()
        now_ms = seconds * 1000 + micros // 1000
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self._members, {self.name: now_ms + self._lease_ms})
            pipe.zremrangebyscore(self._members, "-inf", now_ms)
            pipe.zcard(self._members)
            *_, alive = await pipe.execute()
        shards = self._transport.shards
        share = math.ceil(shards / max(1, int(alive)))
        owned = [
            shard
            for shard in sorted(self.owned)
            if await self._renew(keys=[self._lease(shard)], args=[self.name, self._lease_ms])
        ]
        for shard in owned[share:]:
            await self._release(keys=[self._lease(shard)], args=[self.name])
        owned = owned[:share]
        for shard in range(shards):
            if len(owned) >= share:
                break
            if shard not in owned and await self._redis.set(
                self._lease(shard), self.name, nx=True, px=self._lease_ms
            ):
                owned.append(shard)
        self.owned = set(owned)
        for state in self._state.values():
            state.settled &= self.owned
        return self.owned

    async def leave(self) -> None:
        """Give back every lease now (a clean stop), so others take the streams at once."""
        for shard in sorted(self.owned):
            await self._release(keys=[self._lease(shard)], args=[self.name])
        await self._redis.zrem(self._members, self.name)
        self.owned = set()

    # --- running --------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Heartbeat and consume every group until ``stop`` is set, then leave."""
        await self._transport.ensure_groups()
        await self.heartbeat()
        tasks = [asyncio.create_task(self._beat(stop))]
        tasks += [asyncio.create_task(self._consume(group, stop)) for group in self._state]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(Exception):
                await self.leave()

    async def _beat(self, stop: asyncio.Event) -> None:
        while not await _stopped(stop, self.heartbeat_seconds):
            try:
                await self.heartbeat()
            except Exception:  # Redis away: the leases lapse and others take over
                log.exception("bus_heartbeat_error", worker=self.name)

    async def _consume(self, group: str, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                handled = await self.round(group, block_ms=self._read_block_ms)
            except Exception:  # the entries stay pending and are retried
                log.exception("bus_consumer_error", consumer=group, worker=self.name)
                self._state[group].has_pending = True
                handled = None
            if handled is None:
                await _stopped(stop, min(1.0, self.heartbeat_seconds))

    async def drain(self, *, max_rounds: int = 10_000) -> int:
        """Take a share of the streams, handle what is there now, give the streams back;
        returns how many events were handled (``worker --once``)."""
        await self._transport.ensure_groups()
        await self.heartbeat()
        total = 0
        try:
            for _ in range(max_rounds):
                handled = await self.work_once()
                total += handled
                if handled == 0:
                    break
        finally:
            await self.leave()
        return total

    async def work_once(self) -> int:
        """One round of every group over the streams owned now, without waiting; returns
        how many events were handled (tests, ``worker --once``)."""
        total = 0
        for group in self._state:
            total += await self.round(group, block_ms=None) or 0
        return total

    async def round(self, group: str, *, block_ms: int | None) -> int | None:
        """Claim, retry, or read new entries of ``group`` once; ``None`` when nothing could
        be read (no stream owned, or only streams still draining an earlier owner's work)."""
        try:
            return await self._round(group, block_ms=block_ms)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            log.warning("bus_groups_recreated", consumer=group, worker=self.name)
            await self._transport.ensure_groups(recreate=True)
            return await self._round(group, block_ms=block_ms)

    async def _round(self, group: str, *, block_ms: int | None) -> int | None:
        state = self._state[group]
        shards = sorted(self.owned)
        if not shards:
            return None
        if time.monotonic() >= state.claim_at:
            state.claim_at = time.monotonic() + self.heartbeat_seconds
            await self._claim(group, shards, state)
        if state.has_pending and time.monotonic() >= state.retry_at:
            state.has_pending = False
            state.blocked = set()
            pending = await self._own_pending(group, shards)
            if pending:
                return await self._handle(group, pending, state)
        ready = [s for s in shards if await self._settled(group, s, state)]
        if not ready:
            return None
        streams = {self._transport.stream(s): ">" for s in ready}
        replies = await self._redis.xreadgroup(
            group,
            self.name,
            streams,  # type: ignore[arg-type]  # redis-py wants a too-narrow dict type
            count=self._transport.batch_size,
            block=block_ms,
        )
        return await self._handle(group, read_entries(replies), state)

    # --- the parts of a round -------------------------------------------------------------------

    async def _claim(self, group: str, shards: list[int], state: _GroupState) -> None:
        """Take over entries of this worker's streams left pending by a silent worker (one
        round trip for all of them: a round that claims waits for it before reading)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for shard in shards:
                pipe.xautoclaim(
                    self._transport.stream(shard),
                    group,
                    self.name,
                    min_idle_time=self._lease_ms,
                    start_id="0-0",
                    count=self._transport.batch_size,
                    justid=True,
                )
            replies = await pipe.execute()
        claimed = sum(len(ids) for ids in replies)
        if claimed:
            EVENTS_CLAIMED.labels(consumer=group).inc(claimed)
            log.info("bus_events_claimed", consumer=group, worker=self.name, n=claimed)
            state.has_pending = True
            state.retry_at = 0.0

    async def _settled(self, group: str, shard: int, state: _GroupState) -> bool:
        """Whether no other worker still has entries of this stream pending (until they are
        claimed, newer entries would overtake them)."""
        if shard in state.settled:
            return True
        summary = await self._redis.xpending(self._transport.stream(shard), group)
        if all(c["name"] == self.name for c in summary["consumers"]):
            state.settled.add(shard)
            return True
        return False

    async def _own_pending(self, group: str, shards: list[int]) -> list[Entry]:
        """Every entry delivered to this worker and not yet acknowledged, in stream order."""
        entries: list[Entry] = []
        for shard in shards:
            stream = self._transport.stream(shard)
            start = "0"
            while True:
                replies = await self._redis.xreadgroup(
                    group,
                    self.name,
                    {stream: start},
                    count=self._transport.batch_size,
                )
                page = read_entries(replies)
                entries.extend(page)
                if len(page) < self._transport.batch_size:
                    break
                start = page[-1][1]
        return entries

    async def _handle(self, group: str, entries: list[Entry], state: _GroupState) -> int:
        """Deliver ``entries`` to the group's consumer and acknowledge what it accepted."""
        if not entries:
            return 0
        acks: dict[str, list[str]] = {}
        todo: dict[uuid.UUID, SuccessEvent] = {}
        ids_of: dict[uuid.UUID, list[tuple[str, str]]] = {}
        for stream, entry_id, event in entries:
            if event is None:  # trimmed while pending (the outbox still has it), or junk
                log.warning("bus_entry_skipped", consumer=group, entry=entry_id)
                acks.setdefault(stream, []).append(entry_id)
                continue
            if event.supplier_id in state.blocked:
                state.has_pending = True  # held: it stays pending, re-read with the retry
                continue
            todo.setdefault(event.event_id, event)  # an event appended twice runs once
            ids_of.setdefault(event.event_id, []).append((stream, entry_id))
        delivered: list[uuid.UUID] = []
        failed: dict[uuid.UUID, str] = {}
        if todo:
            async with self._db.transaction() as session:
                outcome = await self._transport.groups[group].publish(
                    session=session, events=list(todo.values()), now=self._clock()
                )
            delivered, failed = outcome.delivered, outcome.failed
        for event_id in delivered:
            for stream, entry_id in ids_of[event_id]:
                acks.setdefault(stream, []).append(entry_id)
        if acks:
            async with self._redis.pipeline(transaction=False) as pipe:
                for stream, ids in acks.items():
                    pipe.xack(stream, group, *ids)
                await pipe.execute()
            EVENTS_ACKED.labels(consumer=group).inc(sum(len(ids) for ids in acks.values()))
        self._note_failures(group, state, [todo[e] for e in failed])
        if delivered and self._after_delivery is not None:
            self._after_delivery()
        return len(delivered)

    def _note_failures(self, group: str, state: _GroupState, failed: list[SuccessEvent]) -> None:
        if not failed:
            state.failures = 0
            return
        state.blocked |= {e.supplier_id for e in failed}
        state.has_pending = True
        state.failures += 1
        delay = min(self._retry_base * 2.0 ** (state.failures - 1), MAX_BACKOFF_SECONDS)
        state.retry_at = time.monotonic() + delay
        log.warning("bus_delivery_failed", consumer=group, failed=len(failed), retry_in=delay)


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds`` for ``stop``; whether it is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()
