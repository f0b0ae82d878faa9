"""A first-in, first-out admission gate: at most ``limit`` holders at once, the rest queue in
arrival order, and a waiter that is not let in within its timeout gives up. The queue itself is
bounded (``max_waiting``): past it a newcomer is refused at once, so an overloaded process
answers "busy" in microseconds instead of holding thousands of requests it will time out.

The order is explicit rather than left to ``asyncio.Semaphore`` (whose wake-up order has
changed between Python releases, some letting a newcomer overtake a woken waiter): a released
place is handed straight to the oldest waiter still waiting.
"""

from __future__ import annotations

import asyncio
from collections import deque


class AdmissionTimeout(Exception):
    """The waiter was not let in within its timeout."""


class AdmissionQueueFull(Exception):
    """The wait queue already held ``max_waiting`` requests: refused without waiting."""


class Admission:
    """At most ``limit`` holders at once; up to ``max_waiting`` others are let in in arrival
    order (``None``: the queue is unbounded)."""

    def __init__(
        self, *, limit: int, timeout_seconds: float, max_waiting: int | None = None
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if max_waiting is not None and max_waiting < 0:
            raise ValueError("max_waiting must be at least 0")
        self._limit = limit
        self._timeout = timeout_seconds
        self._max_waiting = max_waiting
        self._active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def active(self) -> int:
        """How many hold a place now."""
        return self._active

    @property
    def limit(self) -> int:
        """How many may hold a place at once."""
        return self._limit

    @property
    def waiting(self) -> int:
        """How many wait in the queue now."""
        return sum(1 for waiter in self._waiters if not waiter.done())

    async def acquire(self) -> None:
        """Take a place, waiting in line; :class:`AdmissionTimeout` when none came in time,
        :class:`AdmissionQueueFull` at once when the line is full.

        Every successful call is paired with one :meth:`release`.
        """
        if self._active < self._limit and not self._waiters:
            self._active += 1
            return
        # The deque holds only live waiters (a finished one is removed or popped), so its
        # length is the queue's.
        if self._max_waiting is not None and len(self._waiters) >= self._max_waiting:
            raise AdmissionQueueFull
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self._timeout):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the place was handed over as we gave up: pass it on
            elif waiter in self._waiters:  # a release may already have dropped it
                self._waiters.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise AdmissionTimeout from None
            raise

    def release(self) -> None:
        """Hand the place to the oldest waiter still waiting, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._active -= 1
