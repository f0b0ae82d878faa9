"""How ``wedsync-success serve`` runs the app: one process, or N uvicorn worker processes."""

from __future__ import annotations

from urllib.parse import urlsplit

APP_FACTORY = "wedsync_success.web.app:create_app"
"""What each uvicorn worker process imports and calls to build its own app."""

WORKER_HEALTHCHECK_SECONDS = 30
"""How long uvicorn's supervisor waits for a worker to answer its ping before killing it.
uvicorn's 5 s killed busy workers at 5,000 live connections on a machine at load 14 (the ping
thread did not get the interpreter in time), closing every stream the worker held."""

IN_PROCESS_BUSES = frozenset({"memory"})
"""Event-bus schemes whose events never leave the process that published them."""


def workers_refusal(workers: int, event_bus_url: str) -> str | None:
    """Why ``workers`` API processes cannot run on ``event_bus_url``, or None when they can.

    With an in-process bus each worker would deliver only the success events its own requests
    committed: a dashboard connected to one worker would miss the others' live updates.
    """
    scheme = urlsplit(event_bus_url).scheme.lower()
    if workers > 1 and scheme in IN_PROCESS_BUSES:
        return (
            f"--workers {workers} needs an event bus shared by every process, and "
            f"WEDSYNC_EVENT_BUS_URL is {scheme}:// (in-process): live updates would not cross "
            "processes. Set WEDSYNC_EVENT_BUS_URL=redis://host:6379/0, or serve with --workers 1."
        )
    return None
