"""Heavy libraries imported on first use, not with the web app or the CLI (SciPy for the
referral graph and the LTV fit, lifelines with pandas for survival curves: most of the
app's import time when they loaded with it). They load in a worker thread, so the event
loop does not stall while they do (as ``churn/lazy.py`` does for LightGBM). Each user
names what it loads next to the ``from … import`` it defers."""

from __future__ import annotations

import asyncio
import importlib
import sys


async def load(*modules: str) -> None:
    """Import ``modules`` once each, off the event loop."""
    for name in modules:
        if name not in sys.modules:
            await asyncio.to_thread(importlib.import_module, name)
