"""Start-up time of the API process, next to a bare interpreter measured in the same run.

Usage::

    .venv/bin/python benchmarks/startup.py [--runs 9]

Each run is a fresh interpreter (imports are cached per process, so timing them twice in
one process measures nothing). The runs of every kind are interleaved, so all of them see
the same machine noise. Figures, median and range over the runs:

1. **Baseline:** ``python -c pass``, the interpreter's own start and exit (wall time).
2. **Import** ``wedsync_success.web.app`` (timed inside the child).
3. **create_app() and lifespan start-up**: the app factory, then the lifespan up to the
   point where it serves (configuration files loaded, engine and event hub built; a SQLite
   file in a temporary folder, the outbox dispatcher off). Timed inside the child.
4. **Whole process** of 2 + 3, interpreter included (wall time, like the baseline); "over
   baseline" is what the application adds to a bare interpreter.
5. **Deferred to the first churn request:** importing ``wedsync_success.churn.serving``
   (LightGBM, which imports scikit-learn) after the app has started. The churn routes do
   this import on their first request, off the event loop.

The last column says whether LightGBM was loaded when the child finished that step.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench_timing import fmt_ms, fmt_s

console = Console()

CHILD = """
import asyncio, json, sys, time
t0 = time.perf_counter()
import wedsync_success.web.app as web_app
t1 = time.perf_counter()
after_import = "lightgbm" in sys.modules
from wedsync_success.config import Settings
app = web_app.create_app(
    Settings(database_url=sys.argv[1], secret_key="x" * 32), run_dispatcher=False
)

async def start() -> None:
    async with app.router.lifespan_context(app):
        pass

asyncio.run(start())
t2 = time.perf_counter()
after_start = "lightgbm" in sys.modules
if sys.argv[2] == "serving":
    import wedsync_success.churn.serving
t3 = time.perf_counter()
print(json.dumps({
    "import": t1 - t0, "start": t2 - t1, "serving": t3 - t2,
    "lightgbm_after_import": after_import, "lightgbm_after_start": after_start,
    "lightgbm_at_end": "lightgbm" in sys.modules,
}))
"""


def _wall(args: Sequence[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} failed:\n{done.stderr}")
    return elapsed, done.stdout


def _row(samples: list[float]) -> tuple[str, str]:
    fmt = fmt_ms if max(samples) < 1 else fmt_s
    return fmt(statistics.median(samples)), f"{fmt(min(samples))} – {fmt(max(samples))}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters per figure")
    args = parser.parse_args(argv)

    baseline: list[float] = []
    whole: list[float] = []
    timed: dict[str, list[float]] = {"import": [], "start": [], "serving": []}
    loaded: dict[str, bool] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'startup.db'}"
        for i in range(args.runs + 1):  # the first round warms the file cache, untimed
            base, _ = _wall([sys.executable, "-c", "pass"])
            wall, out = _wall([sys.executable, "-c", CHILD, url, "app"])
            _, deferred_out = _wall([sys.executable, "-c", CHILD, url, "serving"])
            if i == 0:
                continue
            app_figures, deferred = json.loads(out), json.loads(deferred_out)
            baseline.append(base)
            whole.append(wall)
            timed["import"].append(app_figures["import"])
            timed["start"].append(app_figures["start"])
            timed["serving"].append(deferred["serving"])
            loaded = {
                "import": app_figures["lightgbm_after_import"],
                "start": app_figures["lightgbm_after_start"],
                "serving": deferred["lightgbm_at_end"],
            }
            console.print(f"run {i}/{args.runs}: app process {fmt_s(wall)}", style="dim")

    over = [w - b for w, b in zip(whole, baseline, strict=True)]
    table = Table(
        "what",
        "median",
        "range",
        "LightGBM loaded",
        title=f"API start-up ({args.runs} fresh interpreters each, {sys.executable})",
    )
    at_start = {True: "[red]yes[/red]", False: "[green]no[/green]"}
    table.add_row("baseline: python -c pass", *_row(baseline), "")
    table.add_row("import web.app", *_row(timed["import"]), at_start[loaded["import"]])
    table.add_row("create_app + lifespan", *_row(timed["start"]), at_start[loaded["start"]])
    table.add_row("whole process", *_row(whole), "")
    table.add_row("  over baseline", *_row(over), "")
    table.add_row(
        "first churn request: import serving",
        *_row(timed["serving"]),
        "yes" if loaded["serving"] else "no",
    )
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
