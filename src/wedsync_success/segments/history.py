"""A segment's past, read from its own success events: who entered and left it lately,
and how many members it had at the end of each recent day.

Membership keeps only the present (``segment_memberships``); every change also wrote a
``segment.entered`` / ``segment.exited`` event in the same transaction, and the outbox
keeps them. So the members at an instant are today's count less the entries since then,
plus the exits since then: exact as long as the events are there (a supplier deleted
outright leaves its segments without an event, and the count before then is off by it).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.events import repository as events_repository
from wedsync_success.events.types import SuccessEventType
from wedsync_success.segments.service import SEGMENT_KEY

ENTERED = SuccessEventType.SEGMENT_ENTERED.value
EXITED = SuccessEventType.SEGMENT_EXITED.value
_TYPES = (ENTERED, EXITED)


@dataclass(frozen=True)
class Movement:
    """Entries and exits of one segment over the last 7 and 30 days."""

    entered_7d: int = 0
    exited_7d: int = 0
    entered_30d: int = 0
    exited_30d: int = 0


async def movements(
    *, session: AsyncSession, keys: Sequence[str], now: datetime
) -> dict[str, Movement]:
    """Each segment's entries and exits in the 7 and 30 days up to ``now`` (one query)."""
    counts = await events_repository.counts_since(
        session,
        event_types=_TYPES,
        field=SEGMENT_KEY,
        since=[now - timedelta(days=7), now - timedelta(days=30)],
    )
    found: dict[str, Movement] = {}
    for key in keys:
        entered = counts.get((key, ENTERED), [0, 0])
        exited = counts.get((key, EXITED), [0, 0])
        found[key] = Movement(
            entered_7d=entered[0], exited_7d=exited[0], entered_30d=entered[1], exited_30d=exited[1]
        )
    return found


@dataclass(frozen=True)
class DayCount:
    """Members at the end of ``day`` (UTC), or now for today."""

    day: date
    members: int


async def membership_by_day(
    *, session: AsyncSession, key: str, members_now: int, now: datetime, days: int = 30
) -> list[DayCount]:
    """The members at the end of each of the last ``days`` UTC days, today last (its
    count is now's), worked back from ``members_now`` by the segment's events."""
    today = now.date()
    ends = [
        datetime.combine(today - timedelta(days=back), time(), tzinfo=UTC)
        for back in range(days - 2, -1, -1)
    ]
    counts = await events_repository.counts_since(
        session, event_types=_TYPES, field=SEGMENT_KEY, since=ends, value=key
    )
    entered = counts.get((key, ENTERED), [0] * len(ends))
    exited = counts.get((key, EXITED), [0] * len(ends))
    points = [
        DayCount(day=end.date() - timedelta(days=1), members=members_now - e + x)
        for end, e, x in zip(ends, entered, exited, strict=True)
    ]
    return [*points, DayCount(day=today, members=members_now)]


@dataclass(frozen=True)
class Change:
    supplier_id: uuid.UUID | None
    entered: bool
    at: datetime


async def recent_changes(*, session: AsyncSession, key: str, limit: int) -> list[Change]:
    """The segment's latest entries and exits, newest first."""
    rows = await events_repository.recent_by_payload(
        session, event_types=_TYPES, field=SEGMENT_KEY, value=key, limit=limit
    )
    return [
        Change(supplier_id=r.supplier_id, entered=r.event_type == ENTERED, at=r.occurred_at)
        for r in rows
    ]
