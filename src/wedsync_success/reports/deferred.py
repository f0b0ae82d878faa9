"""Heavy numerical libraries the history reports use (lifelines, which brings pandas, and
SciPy's optimiser): imported on a report's first use, not with the web app, where they
were most of its import time. The async reports load them in a worker thread, so the event
loop does not stall while they do (as ``churn/lazy.py`` does for LightGBM)."""

from __future__ import annotations

import asyncio
import importlib
import sys

LIFELINES = "lifelines.statistics"
SCIPY = "scipy.optimize"


async def load(*modules: str) -> None:
    """Import ``modules`` once each, off the event loop."""
    for name in modules:
        if name not in sys.modules:
            await asyncio.to_thread(importlib.import_module, name)
