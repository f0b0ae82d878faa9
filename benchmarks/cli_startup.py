"""Start-up time of the command line: ``--help`` of the top level and of command groups,
next to a bare interpreter measured in the same run.

Usage::

    .venv/bin/python benchmarks/cli_startup.py [--runs 9]

Each run is a fresh process (``python -m wedsync_success.cli ... --help``, output thrown
away), wall time from start to exit. The kinds of run are interleaved, so every kind sees the
same machine noise. Printed per kind: the median (p50), the fastest and slowest run, and the
p50 over the baseline ``python -c pass`` (what the CLI adds to a bare interpreter). The goal
is a ``--help`` under 0.5 s; the heavy libraries (LightGBM, scikit-learn, matplotlib, the
web app) must load only inside the commands that use them.

The last column says which of those libraries a plain ``import wedsync_success.cli`` loaded
(it should say "none").
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console()
SRC = Path(__file__).resolve().parents[1] / "src"
GOAL_S = 0.5
HEAVY = ("lightgbm", "sklearn", "matplotlib", "scipy", "fastapi", "sqlalchemy")

KINDS: dict[str, list[str]] = {
    "python -c pass (baseline)": ["-c", "pass"],
    "--help": ["-m", "wedsync_success.cli", "--help"],
    "churn --help": ["-m", "wedsync_success.cli", "churn", "--help"],
    "import --help": ["-m", "wedsync_success.cli", "import", "--help"],
    "import events --help": ["-m", "wedsync_success.cli", "import", "events", "--help"],
    "health --help": ["-m", "wedsync_success.cli", "health", "--help"],
    "apikey --help": ["-m", "wedsync_success.cli", "apikey", "--help"],
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    env["COLUMNS"] = "100"
    return env


def _once(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, *args], env=env, check=True, stdout=subprocess.DEVNULL, timeout=60
    )
    return time.perf_counter() - started


def _heavy_loaded(env: dict[str, str]) -> str:
    probe = (
        "import sys, wedsync_success.cli; "
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    return out or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="runs of each kind (default 9)")
    runs = parser.parse_args().runs
    env = _env()
    for args in KINDS.values():  # warm the file cache and the bytecode once
        _once(args, env)
    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(runs):
        for kind, args in KINDS.items():
            samples[kind].append(_once(args, env))
    baseline = statistics.median(samples["python -c pass (baseline)"])
    heavy = _heavy_loaded(env)
    table = Table(
        "command",
        "p50",
        "min",
        "max",
        "p50 over baseline",
        title=f"CLI start-up, {runs} runs each (goal: --help under {GOAL_S} s)",
    )
    for kind, values in samples.items():
        p50 = statistics.median(values)
        is_baseline = kind.startswith("python")
        colour = "" if is_baseline else "green" if p50 < GOAL_S else "red"
        table.add_row(
            kind,
            f"[{colour}]{p50:.3f} s[/]" if colour else f"{p50:.3f} s",
            f"{min(values):.3f} s",
            f"{max(values):.3f} s",
            "" if is_baseline else f"{p50 - baseline:+.3f} s",
        )
    console.print(table)
    console.print(f"Heavy libraries loaded by `import wedsync_success.cli`: {heavy}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    console.print(f"Load average (1 min) at the end: {load:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
