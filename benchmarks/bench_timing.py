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
from contextlib import contextmanager, nullcontext
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


@dataclass(frozen=True)
class ImportTiming:
    """One import through the command's own loop (``import_cli.run_import``)."""

    seconds: float
    """Wall time without the final rescoring."""
    rescore: float
    """The final rescoring of the touched suppliers (once per import)."""
    counts: dict[str, int]
    """The report's counts by outcome ("created", "accepted"…)."""


COMMIT = "commit"
"""The label under which :func:`timed_commits` adds the end of every transaction."""


@contextmanager
def timed_commits(times: PhaseTimes) -> Iterator[None]:
    """Time the end of every transaction (its commit) while the block runs (``COMMIT``)."""
    from sqlalchemy.ext.asyncio.session import AsyncSessionTransaction

    original = AsyncSessionTransaction.__aexit__

    async def leave(self: AsyncSessionTransaction, *exc: Any) -> None:
        started = time.perf_counter()
        try:
            await original(self, *exc)
        finally:
            times.add(COMMIT, time.perf_counter() - started)

    AsyncSessionTransaction.__aexit__ = leave  # type: ignore[method-assign]
    try:
        yield
    finally:
        AsyncSessionTransaction.__aexit__ = original  # type: ignore[method-assign]


async def timed_import(
    url: str,
    *,
    batches: Iterator[Any],
    writer: Callable[[Any], Any],
    lines: int,
    times: PhaseTimes | None = None,
    phases: Sequence[Phase] = (),
    commits: bool = False,
    batches_per_commit: int = 1,
    events_with_rescoring: bool = False,
) -> ImportTiming:
    """Time ``import_cli.run_import`` on a fresh context over ``url``: ``batches`` yields the
    file's batches, ``writer(ctx)`` is the command's writer (``import_cli.supplier_writer``…).
    An import that rejects or stops raises: a figure must not hide a failure.

    ``times`` (given) receives the time of each of ``phases`` (the final rescoring always,
    as "rescore"), of every commit with ``commits``, and the wall time without the
    rescoring. ``batches_per_commit``: as ``run_import`` takes it. ``events_with_rescoring``:
    the delivery of the success events at the end counts with the rescoring, for an import
    that raises none itself (``import suppliers``: every event is a score the rescoring
    changed)."""
    from wedsync_success import import_cli, pipeline
    from wedsync_success.config import Settings
    from wedsync_success.context import build_context

    ctx = build_context(Settings(database_url=url))
    times = PhaseTimes() if times is None else times
    watched = list(phases)
    if not any(phase.label == "rescore" for phase in watched):
        watched.append(Phase(pipeline, "rescore_touched", "rescore"))
    if events_with_rescoring:
        from wedsync_success.events import dispatcher

        watched.append(Phase(dispatcher.Dispatcher, "drain", "rescore"))  # type: ignore[arg-type]
    try:
        started = time.perf_counter()
        with profiled(watched, times), timed_commits(times) if commits else nullcontext():
            report = await import_cli.run_import(
                ctx,
                batches=batches,
                lines=lines,
                write=writer(ctx),
                batches_per_commit=batches_per_commit,
            )
        wall = time.perf_counter() - started
    finally:
        await ctx.close()
    if report.problems or report.stopped:
        raise RuntimeError(f"the import failed: {report.problems[:3]} {report.stopped}")
    rescore = times.seconds.get("rescore", 0.0)
    times.wall = wall - rescore
    return ImportTiming(seconds=wall - rescore, rescore=rescore, counts=dict(report.stored))


def rate_cell(per_second: float, unit: str, goal: float) -> str:
    """``per_second`` as :func:`fmt_rate`, green at or over ``goal`` and red under it (Rich)."""
    cell = fmt_rate(per_second, unit)
    return f"[green]{cell}[/]" if per_second >= goal else f"[red]{cell}[/]"


def import_row(
    backend: str, label: str, timing: ImportTiming, *, lines: int, unit: str, goal: float
) -> list[str]:
    """A result-table row: backend, what was imported, counts, time, rate, rescoring."""
    return [
        backend,
        label,
        ", ".join(f"{v:,} {k}" for k, v in timing.counts.items()),
        fmt_s(timing.seconds),
        rate_cell(lines / timing.seconds, unit, goal),
        fmt_s(timing.rescore),
    ]


def baseline_row(backend: str, seconds: float, rows: int, *, note: str = "") -> list[str]:
    """The result-table row of the driver writing the same rows alone."""
    how = "COPY" if backend != "sqlite" else "executemany"
    return [
        backend,
        f"baseline: the driver alone ({how}{note})",
        f"{rows:,} rows",
        fmt_s(seconds),
        fmt_rate(rows / seconds, "rows"),
        "–",
    ]
