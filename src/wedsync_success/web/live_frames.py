"""The live stream's frames, rendered once per event for every listener of the process.

Each connected page used to render the events it received itself, with one query for their
suppliers' names: N listeners cost N queries per event, so 5,000 open dashboards turned one
success event into 5,000 queries and seconds of delay. Here the first listener to ask for an
event renders it (one query per burst) and every other listener awaits that same frame.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import OrderedDict
from collections.abc import Sequence

from sse_starlette import ServerSentEvent

from wedsync_success.db import Database
from wedsync_success.events.types import SuccessEvent
from wedsync_success.suppliers import repository as suppliers_repository

KEPT_FRAMES = 2_000
"""Frames of the most recent events kept (a listener's queue holds at most 500 events)."""


class LiveFrames:
    """Rendered frames by event sequence, shared by the listeners of one process."""

    def __init__(self, *, kept: int = KEPT_FRAMES) -> None:
        self.kept = kept
        self._frames: OrderedDict[int, asyncio.Future[ServerSentEvent]] = OrderedDict()

    async def frames(self, db: Database, events: Sequence[SuccessEvent]) -> list[ServerSentEvent]:
        """The frames of ``events``, in order, each carrying its supplier's business name."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[ServerSentEvent]] = []
        todo: list[tuple[SuccessEvent, asyncio.Future[ServerSentEvent]]] = []
        for event in events:  # claimed before any await: other listeners wait, not repeat
            future = self._frames.get(event.sequence)
            if future is None:
                future = self._frames[event.sequence] = loop.create_future()
                todo.append((event, future))
            futures.append(future)
        while len(self._frames) > self.kept:
            self._frames.popitem(last=False)
        if todo:
            try:
                rendered = await _render(db, [event for event, _ in todo])
            except BaseException as exc:
                for event, future in todo:
                    self._frames.pop(event.sequence, None)  # the next listener tries again
                    future.set_exception(exc)
                    future.exception()  # retrieved: no "never retrieved" warning if none waits
                raise
            for frame, (_, future) in zip(rendered, todo, strict=True):
                future.set_result(frame)
        return [await future for future in futures]


async def _render(db: Database, events: Sequence[SuccessEvent]) -> list[ServerSentEvent]:
    """One name query for all of ``events`` (on a session of its own: a stream holds no
    connection between bursts)."""
    ids = [e.supplier_id for e in events if e.supplier_id]
    names: dict[uuid.UUID, str] = {}
    if ids:
        async with db.sessions() as session:
            names = await suppliers_repository.names_of(session, ids)
    return [_frame(e, names.get(e.supplier_id) if e.supplier_id else None) for e in events]


def _frame(event: SuccessEvent, supplier_name: str | None) -> ServerSentEvent:
    return ServerSentEvent(
        event="success",
        id=str(event.sequence),
        data=json.dumps({**event.to_json(), "supplier_name": supplier_name}),
    )
