"""The API process starts without the churn model stack (LightGBM imports scikit-learn:
seconds of start-up); the churn routes import it on their first request."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_app_does_not_import_lightgbm() -> None:
    code = (
        "import sys, wedsync_success.web.app; "
        "print('lightgbm' in sys.modules, 'sklearn' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["False", "False"], done.stdout
