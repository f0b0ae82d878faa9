"""Live fan-out of delivered success events to whoever is watching (dashboard pages).

The hub is an ordinary outbox consumer: the dispatcher hands it each event once, and it
copies the event into the queue of every connected listener. A listener that falls behind
loses its oldest events rather than slowing delivery for everyone; the page then catches up
on its next load.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from wedsync_success.events.types import SuccessEvent

LISTENER_QUEUE_SIZE = 500


class LiveHub:
    """Broadcasts success events to in-process listeners."""

    def __init__(self) -> None:
        self._listeners: set[asyncio.Queue[SuccessEvent]] = set()

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    async def publish(self, event: SuccessEvent) -> None:
        """Consumer entry point: copy ``event`` to every listener without waiting on any."""
        for queue in self._listeners:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def listen(self) -> AsyncIterator[asyncio.Queue[SuccessEvent]]:
        """A queue receiving every event published while the context is open."""
        queue: asyncio.Queue[SuccessEvent] = asyncio.Queue(maxsize=LISTENER_QUEUE_SIZE)
        self._listeners.add(queue)
        try:
            yield queue
        finally:
            self._listeners.discard(queue)
