"""The Redis Streams transport: success events shared by many API and worker processes.

The dispatcher (in any process) appends each committed outbox event to one of
``event_bus_shards`` streams, chosen by its supplier, so one supplier's events stay in one
stream in outbox order; each stream is trimmed to about ``event_bus_stream_maxlen`` entries
(``XADD MAXLEN ~``). An event is marked published once Redis has it. A round's events are
appended by one script call per stream (all in one pipeline), not one ``XADD`` each: the
replies, one per stream instead of one per event, were most of the dispatcher's cost per
event. A stream's script stops at its first refused entry, so no event of that stream is
appended after one that was not (its supplier's order holds; the rest are retried).

Every consumer is a consumer group named after it: ``wedsync-success worker`` processes
(:mod:`wedsync_success.events.redis_worker`) share a group's work, each event is handled once
per group and acknowledged after its receipt is committed. Every API process also tails the
streams without a group (``XREAD`` from the end) into its live hub, so a browser connected to
any of them sees every event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError, ResponseError
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.events.bus import (
    BatchHandler,
    Handler,
    InProcessTransport,
    PublishOutcome,
)
from wedsync_success.events.types import SuccessEvent
from wedsync_success.kit.clock import Clock, utc_now

if TYPE_CHECKING:
    from wedsync_success.config import Settings
    from wedsync_success.db import Database
    from wedsync_success.events.redis_worker import StreamWorker

log = structlog.get_logger(__name__)

FIELD = "e"
"""The stream entry's one field: the event as JSON (:meth:`SuccessEvent.to_json`)."""
APPEND = """
local ids = {}
for i = 2, #ARGV do
  local ok, id = pcall(redis.call, 'XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[i])
  if not ok then
    return {ids, tostring(type(id) == 'table' and id.err or id)}
  end
  ids[#ids + 1] = id
end
return {ids}
"""
"""Append ARGV[2..] to the stream KEYS[1] (trimmed to about ARGV[1]) in order, stopping at
the first refusal; answers {appended ids} or {appended ids, why the next was refused}."""
LIVE_BLOCK_MS = 500
"""How long one live ``XREAD`` waits before looking at the stop flag again."""


Entry = tuple[str, str, SuccessEvent | None]
"""(stream, entry id, event); no event when the entry was trimmed before it was read, or
holds no event this code wrote (it is logged and skipped, never retried forever)."""


def read_entries(replies: Any) -> list[Entry]:
    """Flatten an ``XREAD``/``XREADGROUP`` reply (a list of [stream, entries])."""
    out: list[Entry] = []
    for stream, items in replies or []:
        for entry_id, fields in items:
            out.append((str(stream), str(entry_id), _event_of(str(entry_id), fields)))
    return out


def _event_of(entry_id: str, fields: dict[str, str] | None) -> SuccessEvent | None:
    if not fields:
        return None
    try:
        return SuccessEvent.from_json(json.loads(fields[FIELD]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        log.warning("bus_entry_unreadable", entry=entry_id, error=repr(exc))
        return None


class RedisStreamTransport:
    """Appends events to Redis streams; consumers run in worker processes, per group."""

    embedded = False

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str,
        shards: int,
        maxlen: int,
        claim_idle: timedelta,
        batch_size: int = 500,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.shards = shards
        self.maxlen = maxlen
        self.claim_idle = claim_idle
        self.batch_size = batch_size
        self.groups: dict[str, InProcessTransport] = {}
        """Each consumer group's delivery: an in-process transport holding that consumer
        alone, so receipts and savepoints work exactly as in one process."""
        self._fan_out: list[Handler] = []
        self._groups_ready = False
        self._append = client.register_script(APPEND)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisStreamTransport:
        return cls(
            Redis.from_url(settings.event_bus_url, decode_responses=True),
            prefix=settings.event_bus_prefix,
            shards=settings.event_bus_shards,
            maxlen=settings.event_bus_stream_maxlen,
            claim_idle=timedelta(seconds=settings.event_bus_claim_idle_seconds),
        )

    # --- registration (the same calls as the in-process transport) ----------------------------

    def subscribe(
        self, consumer: str, handler: Handler, event_types: Sequence[str] | None = None
    ) -> None:
        """Register ``consumer``: its name is its consumer group, so keep it stable."""
        self._group(consumer).subscribe(consumer, handler, event_types)

    def subscribe_batch(
        self, consumer: str, handler: BatchHandler, event_types: Sequence[str]
    ) -> None:
        """Register a transactional consumer (its own transaction per batch, with receipts)."""
        self._group(consumer).subscribe_batch(consumer, handler, event_types)

    def fan_out(self, handler: Handler) -> None:
        """Hand every event to ``handler`` in this process (see :meth:`run_live`)."""
        self._fan_out.append(handler)

    @property
    def consumers(self) -> list[str]:
        return list(self.groups)

    def _group(self, consumer: str) -> InProcessTransport:
        if consumer in self.groups:
            raise ValueError(f"consumer {consumer!r} is already subscribed")
        self.groups[consumer] = InProcessTransport()
        return self.groups[consumer]

    # --- keys -----------------------------------------------------------------------------------

    def stream(self, shard: int) -> str:
        return f"{self.prefix}:{shard}"

    @property
    def streams(self) -> list[str]:
        return [self.stream(shard) for shard in range(self.shards)]

    def shard_of(self, supplier_id: uuid.UUID | None) -> int:
        """The stream of a supplier's events (events without a supplier share stream 0)."""
        return 0 if supplier_id is None else supplier_id.int % self.shards

    # --- publishing (the dispatcher's side) -----------------------------------------------------

    async def ensure_groups(self, *, recreate: bool = False) -> None:
        """Create every consumer group on every stream (from the end: a new consumer starts
        with the events published after it first ran); done before the first publish, so no
        event reaches a stream before its groups exist.

        ``recreate``: the groups vanished (Redis lost its data): what the streams hold now
        was appended since, so the groups are made again from their start."""
        if self._groups_ready and not recreate:
            return
        for stream in self.streams:
            for group in self.groups:
                with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
                    await self.client.xgroup_create(
                        stream, group, id="0" if recreate else "$", mkstream=True
                    )
        self._groups_ready = True

    async def publish(
        self, *, session: AsyncSession, events: Sequence[SuccessEvent], now: datetime
    ) -> PublishOutcome:
        """Append ``events`` to their streams; those Redis took count as delivered."""
        outcome = PublishOutcome()
        if not events:
            return outcome
        by_stream: dict[str, list[SuccessEvent]] = {}
        for event in events:
            by_stream.setdefault(self.stream(self.shard_of(event.supplier_id)), []).append(event)
        try:
            await self.ensure_groups()
            results = await self._append_all(
                {
                    stream: [json.dumps(e.to_json(), separators=(",", ":")) for e in batch]
                    for stream, batch in by_stream.items()
                }
            )
        except RedisError as exc:
            log.warning("event_bus_unavailable", error=repr(exc))
            outcome.failed = {e.event_id: f"redis: {exc!r}" for e in events}
            return outcome
        for stream, batch in by_stream.items():
            result = results[stream]
            if isinstance(result, Exception):
                appended, error = 0, repr(result)
            else:
                appended, error = len(result[0]), result[1] if len(result) > 1 else ""
            outcome.delivered += [e.event_id for e in batch[:appended]]
            for event in batch[appended:]:
                outcome.failed[event.event_id] = f"redis: {error}"
        return outcome

    async def _append_all(self, entries: dict[str, list[str]]) -> dict[str, Any]:
        """Run the append script once per stream in one pipeline: each stream's reply, or
        its error. By ``EVALSHA``: a pipeline of a registered script would first ask Redis
        whether the script exists (a round trip more per round), so the script is loaded
        only when Redis answers that it does not have it (after a restart or a flush)."""
        results: dict[str, Any] = {}
        todo = list(entries)
        for _ in range(2):
            async with self.client.pipeline(transaction=False) as pipe:
                for stream in todo:
                    pipe.evalsha(self._append.sha, 1, stream, self.maxlen, *entries[stream])
                replies = await pipe.execute(raise_on_error=False)
            results.update(zip(todo, replies, strict=True))
            todo = [s for s, r in zip(todo, replies, strict=True) if isinstance(r, NoScriptError)]
            if not todo:
                break
            await self.client.script_load(APPEND)
        return results

    # --- live fan-out (every API process) -------------------------------------------------------

    async def run_live(self, stop: asyncio.Event) -> None:
        """Tail every stream from its current end into the fan-out handlers until ``stop``."""
        if not self._fan_out:
            return
        positions: dict[str, str] = {}
        while not stop.is_set():
            try:
                if not positions:
                    positions = await self._ends()
                replies = await self.client.xread(
                    positions,  # type: ignore[arg-type]  # redis-py wants a too-narrow dict type
                    count=self.batch_size,
                    block=LIVE_BLOCK_MS,
                )
            except RedisError as exc:  # keep tailing once Redis is back
                log.warning("live_tail_error", error=repr(exc))
                await _wait(stop, LIVE_BLOCK_MS / 1000)
                continue
            for stream, entry_id, event in read_entries(replies):
                positions[stream] = entry_id
                if event is not None:
                    await self._hand_out(event)

    async def _ends(self) -> dict[str, str]:
        """Where each stream ends now (``$`` resolved once, so nothing between reads is lost)."""
        ends: dict[str, str] = {}
        for stream in self.streams:
            last = await self.client.xrevrange(stream, count=1)
            ends[stream] = str(last[0][0]) if last else "0-0"
        return ends

    async def _hand_out(self, event: SuccessEvent) -> None:
        for handler in self._fan_out:
            try:
                await handler(event)
            except Exception as exc:  # one listener's failure must not stop the tail
                log.warning("live_handler_failed", event_id=str(event.event_id), error=repr(exc))

    # --- consuming (worker processes) -----------------------------------------------------------

    def consumer_worker(
        self,
        *,
        db: Database,
        name: str,
        clock: Clock = utc_now,
        after_delivery: Callable[[], None] | None = None,
    ) -> StreamWorker:
        """This process's share of every consumer group's work."""
        from wedsync_success.events.redis_worker import StreamWorker

        return StreamWorker(self, db=db, name=name, clock=clock, after_delivery=after_delivery)

    async def close(self) -> None:
        await self.client.aclose()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
