"""A value computed in the background at most once per ``max_age`` (stale-while-revalidate).

For aggregates over every supplier that move slowly: a request that finds the value older
than ``max_age`` gets it at once and starts one background refresh; only the first request
waits for the computation. ``max_age`` 0 computes on every request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog

T = TypeVar("T")
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class _Held(Generic[T]):
    value: T
    computed: float  # time.monotonic()


class Snapshot(Generic[T]):
    """The latest result of ``compute``, refreshed behind the scenes when older than max_age."""

    def __init__(
        self,
        compute: Callable[[], Awaitable[T]],
        *,
        name: str,
        max_age_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._compute = compute
        self._name = name
        self._max_age = max_age_seconds
        self._monotonic = monotonic
        self._held: _Held[T] | None = None
        self._first = asyncio.Lock()
        self._refreshing: asyncio.Task[None] | None = None

    async def get(self) -> T:
        """The value, at most ``max_age`` old (or the one a refresh under way will replace)."""
        if self._max_age == 0:
            return await self._compute()
        held = self._held
        if held is None:
            async with self._first:
                held = self._held or await self._refresh()
        elif self._monotonic() - held.computed > self._max_age:
            self._refresh_in_background()
        return held.value

    async def _refresh(self) -> _Held[T]:
        held = _Held(await self._compute(), self._monotonic())
        self._held = held
        return held

    def _refresh_in_background(self) -> None:
        if self._refreshing is not None and not self._refreshing.done():
            return

        async def refresh() -> None:
            try:
                await self._refresh()
            except Exception:  # the stale value stays; the next request tries again
                log.exception("snapshot_refresh_failed", snapshot=self._name)

        self._refreshing = asyncio.create_task(refresh())

    async def settled(self) -> None:
        """Wait for a background refresh under way (tests, shutdown)."""
        if self._refreshing is not None:
            await self._refreshing
