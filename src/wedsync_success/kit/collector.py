"""Keeping Python's cycle collector out of the way of a long bulk job."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

BULK_THRESHOLD = 50_000
"""Allocations between young-generation collections during a bulk job (Python's default:
700). An import allocates millions of short-lived, acyclic objects (rows, dicts, models)
that reference counting frees at once; collecting every 700 allocations, and scanning the
whole heap (SQLAlchemy, pydantic, the app) at every old-generation pass, cost a fifth of an
import's CPU (``benchmarks/imports.py``)."""


@contextlib.contextmanager
def bulk_job() -> Iterator[None]:
    """Freeze what the process holds now (it is never collected in the block: it outlives
    the job anyway) and collect the young generation less often; both are undone at the
    end. For command-line bulk jobs: a server keeps the defaults."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(BULK_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()
