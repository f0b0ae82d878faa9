"""The outbox backlog as Prometheus gauges, measured when /metrics is scraped."""

from __future__ import annotations

from prometheus_client import Gauge

from wedsync_success.db import Database
from wedsync_success.events import repository
from wedsync_success.kit.clock import Clock

OUTBOX_PENDING = Gauge(
    "wedsync_outbox_pending_events", "Success events in the outbox not yet delivered."
)
OUTBOX_OLDEST_AGE = Gauge(
    "wedsync_outbox_oldest_pending_age_seconds",
    "Age of the oldest undelivered success event (0 when none waits).",
)


async def measure_backlog(db: Database, clock: Clock) -> None:
    """Set the backlog gauges from the outbox as it is now."""
    async with db.sessions() as session:
        pending, oldest = await repository.backlog(session)
    OUTBOX_PENDING.set(pending)
    OUTBOX_OLDEST_AGE.set(max(0.0, (clock() - oldest).total_seconds()) if oldest else 0.0)
