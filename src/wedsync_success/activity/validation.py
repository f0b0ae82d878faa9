"""Validating a batch of events: their shape (fast path, then the schema for the rest), and
business checks beyond it: clock skew, repeats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from wedsync_success.activity.columns import EventColumns, split_plain
from wedsync_success.activity.schemas import EventIn
from wedsync_success.kit.batch import RejectedItem, validate_each
from wedsync_success.kit.columns import AS_UTC

MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass
class ParsedBatch:
    valid: EventColumns = field(default_factory=EventColumns)
    """The valid events, first occurrences only, in batch order."""
    rejected: list[RejectedItem] = field(default_factory=list)
    duplicates_in_batch: int = 0


def parse_batch(items: Sequence[Any], *, now: datetime) -> ParsedBatch:
    """Validate every item; an item repeating an earlier ``event_id`` counts as a duplicate.

    Plain events are validated a column at a time (:mod:`.columns`); the schema judges the
    others, so a rejection always carries the schema's field and reason."""
    split = split_plain(items)
    checked, rejected = validate_each(
        EventIn, [items[i] for i in split.deferred], key_field="event_id"
    )
    for item in rejected:
        item.index = split.deferred[item.index]
    events = EventColumns.concat(
        [split.accepted, EventColumns.of_models([(split.deferred[i], e) for i, e in checked])]
    )
    latest_allowed = now + MAX_CLOCK_SKEW
    utc = list(map(AS_UTC, events.occurred_at))
    if utc and max(utc) > latest_allowed:
        future = [n for n, at in enumerate(utc) if at > latest_allowed]
        rejected.extend(
            RejectedItem(
                index=events.index[n],
                key=events.event_id[n],
                field="occurred_at",
                reason=f"is more than {MAX_CLOCK_SKEW.seconds // 60} minutes in the future",
            )
            for n in future
        )
        gone = set(future)
        events = events.take([n for n in range(len(events)) if n not in gone])
    # Reversed, each event id's first occurrence is written last: it is the one kept.
    first = dict(zip(reversed(events.event_id), range(len(events) - 1, -1, -1), strict=True))
    result = ParsedBatch(rejected=sorted(rejected, key=lambda item: item.index))
    if len(first) < len(events):
        result.duplicates_in_batch = len(events) - len(first)
        events = events.take(sorted(first.values()))
    result.valid = events
    return result
