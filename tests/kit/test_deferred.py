"""``kit.deferred.load``: a module is imported on the first call, in a worker thread (the
event loop keeps running meanwhile), and only once."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

import pytest

from wedsync_success.kit.deferred import load


async def test_load_imports_once_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "wedsync_test_deferred_probe"
    (tmp_path / f"{name}.py").write_text(
        "import threading\nIMPORTED_ON = threading.current_thread()\nCOUNT = [1]\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    assert name not in sys.modules
    await load(name)
    module = sys.modules[name]
    assert module.IMPORTED_ON is not threading.main_thread()
    module.COUNT[0] += 1
    await asyncio.gather(load(name), load(name))
    assert sys.modules[name] is module  # not imported again
    assert module.COUNT == [2]
    monkeypatch.delitem(sys.modules, name)
