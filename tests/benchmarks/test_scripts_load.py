"""Every benchmark script still loads against the current code: a renamed or moved name in
``src`` breaks a script long before anyone next runs it for a figure (as ``surveys.py`` broke
when the survey reports moved to ``ReportPeriod``). Loading runs no benchmark: each script
measures only under ``if __name__ == "__main__"``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPTS = sorted(p for p in BENCHMARKS.glob("*.py"))


@pytest.fixture(autouse=True)
def _benchmarks_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scripts import each other's helpers (``bench_data``, ``retention``) by name."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_the_script_loads(script: Path) -> None:
    spec = importlib.util.spec_from_file_location(f"benchmark_{script.stem}", script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while loading
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]


def test_every_script_is_found() -> None:
    assert {"spine", "bench_data", "retention", "imports"} <= {p.stem for p in SCRIPTS}
