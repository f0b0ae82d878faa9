"""The serving code (and with it LightGBM, which imports scikit-learn: seconds of start-up),
imported on first use in a worker thread, so the event loop does not stall while it loads."""

from __future__ import annotations

import asyncio
import importlib
import sys
from types import ModuleType

SERVING = "wedsync_success.churn.serving"


async def serving() -> ModuleType:
    """``wedsync_success.churn.serving``, imported once, off the event loop."""
    if SERVING not in sys.modules:
        await asyncio.to_thread(importlib.import_module, SERVING)
    return sys.modules[SERVING]
