"""The web app starts without lifelines (and pandas) or SciPy: the survival and LTV reports
import them on first use (``kit/deferred.py``)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_app_does_not_import_lifelines_or_scipy() -> None:
    code = (
        "import sys, wedsync_success.web.app; "
        "print(*(m in sys.modules for m in ('lifelines', 'pandas', 'scipy')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["False", "False", "False"], done.stdout
