"""Consumers that ship with the core: other domains register theirs the same way."""

from __future__ import annotations

from prometheus_client import Counter

from wedsync_success.events.bus import Transport
from wedsync_success.events.types import SuccessEvent

SUCCESS_EVENTS = Counter(
    "wedsync_success_events_delivered_total",
    "Success events delivered to consumers, by type.",
    ["type"],
)


async def count_for_metrics(event: SuccessEvent) -> None:
    """Count delivered success events by type for /metrics."""
    SUCCESS_EVENTS.labels(type=event.event_type).inc()


def register_builtin_consumers(transport: Transport) -> None:
    transport.subscribe("metrics", count_for_metrics)
