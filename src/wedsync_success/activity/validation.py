"""Business checks on a batch of events beyond their shape: clock skew, repeats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from wedsync_success.activity.schemas import EventIn
from wedsync_success.kit.batch import RejectedItem, validate_each

MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass
class ParsedBatch:
    valid: list[tuple[int, EventIn]] = field(default_factory=list)
    rejected: list[RejectedItem] = field(default_factory=list)
    duplicates_in_batch: int = 0


def parse_batch(items: Sequence[Any], *, now: datetime) -> ParsedBatch:
    """Validate every item; an item repeating an earlier ``event_id`` counts as a duplicate."""
    valid, rejected = validate_each(EventIn, items, key_field="event_id")
    result = ParsedBatch(rejected=rejected)
    seen: set[str] = set()
    latest_allowed = now + MAX_CLOCK_SKEW
    for index, event in valid:
        if event.occurred_at > latest_allowed:
            result.rejected.append(
                RejectedItem(
                    index=index,
                    key=event.event_id,
                    field="occurred_at",
                    reason=f"is more than {MAX_CLOCK_SKEW.seconds // 60} minutes in the future",
                )
            )
        elif event.event_id in seen:
            result.duplicates_in_batch += 1
        else:
            seen.add(event.event_id)
            result.valid.append((index, event))
    return result
