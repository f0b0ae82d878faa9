"""Timing helpers for the spine benchmark: percentiles, formatting and a phase profiler.

The phase profiler answers "where does the time of this figure go?" without touching the
product code: for the duration of one measurement it replaces selected functions of the
product modules (``wedsync_success.pipeline.detect``, ``...health.repository.scoring_input``…)
by thin wrappers that add their wall time to a per-label total, and restores them afterwards.
The wrappers cost two ``perf_counter`` calls per call, which is negligible next to a query.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np


def p50_p99(samples: Sequence[float]) -> tuple[float, float]:
    """The median and 99th percentile of ``samples`` (seconds in, seconds out)."""
    p50, p99 = np.percentile(np.asarray(samples, dtype=np.float64), [50, 99])
    return float(p50), float(p99)


def fmt_ms(seconds: float) -> str:
    """``seconds`` as milliseconds with a sensible number of decimals."""
    ms = seconds * 1000.0
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.1f} ms" if ms < 100 else f"{ms:,.0f} ms"


def fmt_goal(seconds: float, goal: float) -> str:
    """``seconds`` as :func:`fmt_ms`, green under ``goal`` and red at or over it (Rich)."""
    return f"[green]{fmt_ms(seconds)}[/]" if seconds < goal else f"[red]{fmt_ms(seconds)}[/]"


def fmt_s(seconds: float) -> str:
    return f"{seconds:.3f} s" if seconds < 1 else f"{seconds:.2f} s"


def fmt_rate(per_second: float, unit: str) -> str:
    return f"{per_second:,.0f} {unit}/s"


@dataclass(frozen=True)
class Phase:
    """A product function to time: ``module.attr``, shown as ``label`` at ``depth``."""

    module: ModuleType
    attr: str
    label: str
    depth: int = 0


@dataclass
class PhaseTimes:
    """Accumulated wall time per phase label for one measured figure."""

    wall: float = 0.0
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, label: str, seconds: float) -> None:
        self.seconds[label] += seconds
        self.calls[label] += 1


def _wrap(func: Callable[..., Any], label: str, times: PhaseTimes) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await func(*args, **kwargs)
            finally:
                times.add(label, time.perf_counter() - started)

        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            times.add(label, time.perf_counter() - started)

    return wrapper


@contextmanager
def profiled(phases: Sequence[Phase], times: PhaseTimes) -> Iterator[PhaseTimes]:
    """Time every phase in ``phases`` into ``times`` while the block runs."""
    originals: list[tuple[ModuleType, str, Any]] = []
    try:
        for phase in phases:
            original = getattr(phase.module, phase.attr)
            originals.append((phase.module, phase.attr, original))
            setattr(phase.module, phase.attr, _wrap(original, phase.label, times))
        yield times
    finally:
        for module, attr, original in reversed(originals):
            setattr(module, attr, original)


def breakdown_rows(
    phases: Sequence[Phase], times: PhaseTimes, extra: Sequence[str] = ()
) -> list[tuple[str, int, float]]:
    """(label, depth, seconds) rows in tree order, with an "other" line under every parent.

    "other" under a parent is the parent's time not spent in its timed children (Python glue
    building rows, ORM work…); the last line is the figure's wall time not spent in any
    top-level phase nor in the ``extra`` labels (e.g. the commit).
    """
    rows: list[tuple[str, int, float]] = []

    def emit(start: int, depth: int) -> tuple[int, float]:
        """Emit phases from ``start`` while they are at ``depth``; returns (next, seconds)."""
        i, total = start, 0.0
        while i < len(phases) and phases[i].depth == depth:
            seconds = times.seconds.get(phases[i].label, 0.0)
            rows.append((phases[i].label, depth, seconds))
            total += seconds
            i += 1
            if i < len(phases) and phases[i].depth > depth:
                i, children = emit(i, depth + 1)
                rows.append(("other (Python glue)", depth + 1, seconds - children))
        return i, total

    _, top = emit(0, 0)
    for label in extra:
        rows.append((label, 0, times.seconds.get(label, 0.0)))
        top += times.seconds.get(label, 0.0)
    rows.append(("other (outside timed phases)", 0, times.wall - top))
    return rows
