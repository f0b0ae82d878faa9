"""The success-event log: newest first, filtered by supplier or type, paged by sequence."""

from __future__ import annotations

import uuid

from tests.conftest import FakeClock
from wedsync_success.context import AppContext
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.repository import recent
from wedsync_success.events.types import NewEvent, SuccessEventType


async def test_filters_and_pages(ctx: AppContext, clock: FakeClock) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    improved, declined = SuccessEventType.HEALTH_IMPROVED, SuccessEventType.HEALTH_DECLINED
    written = [(a, improved), (b, improved), (a, declined), (a, improved), (b, declined)]
    async with ctx.db.transaction() as session:
        await enqueue(
            session=session,
            events=[NewEvent(t, s, clock.now, {"n": n}) for n, (s, t) in enumerate(written)],
            now=clock.now,
        )
    async with ctx.db.sessions() as session:

        async def numbers(**filters: object) -> list[int]:
            return [e.payload["n"] for e in await recent(session, **filters)]  # type: ignore[arg-type]

        assert await numbers() == [4, 3, 2, 1, 0]
        assert await numbers(supplier_id=a) == [3, 2, 0]
        assert await numbers(event_type=str(declined)) == [4, 2]
        assert await numbers(supplier_id=a, event_type=str(improved)) == [3, 0]
        first = await recent(session, limit=2)
        assert [e.payload["n"] for e in first] == [4, 3]
        assert await numbers(before_sequence=first[-1].id, limit=2) == [2, 1]
