"""Raw-event retention: ``events prune`` deletes raw events older than the retention
window, month by whole month, in chunks of their own transactions.

Rollups (``daily_rollups``, ``supplier_event_totals``), health scores and churn features are
computed from the rollups and stay as they are. What does read raw events loses the pruned
months: a supplier's latest events and last-seen times (recent anyway), the time of the Nth
event for a milestone not yet achieved (achieved ones are stored), and plan changes for
churn training cutoffs inside the pruned months.

Before deleting, the horizon is recorded (``raw_event_horizon``), under the population
lock: an import that starts afterwards refuses events dated before it, which may have been
stored, rolled up and pruned (storing them again would count them twice). An import already
running holds its suppliers' locks until it commits, so the horizon waits for it, and its
events, stored before the deletion starts, are deleted with the others.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from wedsync_success.activity import repository
from wedsync_success.context import AppContext
from wedsync_success.db.locks import lock_population

PRUNE_CHUNK = 20_000
"""Events deleted per transaction: short transactions, so writers are never held long."""


def horizon(today: date, months: int) -> datetime:
    """The first instant (UTC) of the month ``months`` before ``today``'s: raw events from
    then on are kept (the current month and ``months`` before it)."""
    index = today.year * 12 + (today.month - 1) - months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


async def prune_raw_events(
    ctx: AppContext,
    *,
    before: datetime,
    chunk: int = PRUNE_CHUNK,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Record ``before`` as the horizon, then delete every raw event before it; how many."""
    async with ctx.db.transaction() as session:
        await lock_population(session)
        await repository.raise_pruned_before(session, before)
    deleted = 0
    while True:
        async with ctx.db.transaction() as session:
            gone = await repository.delete_events_before(session, before, limit=chunk)
        deleted += gone
        if progress is not None:
            progress(deleted)
        if gone < chunk:
            return deleted
