"""The churn commands end to end on the seeded SQLite population."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.churn.conftest import Seeded
from wedsync_success.cli import app
from wedsync_success.config import get_settings


def _text(output: str) -> str:
    """Rich wraps long lines to the terminal width: compare words, not line breaks."""
    return " ".join(output.split())


def test_train_report_score_drift_promote_rollback(
    seeded_sqlite: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEDSYNC_DATABASE_URL", seeded_sqlite.url)
    monkeypatch.setenv("WEDSYNC_CHURN_REGISTRY", str(tmp_path / "models"))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        empty = runner.invoke(app, ["churn", "score", "--as-of", "2026-05-31"])
        assert empty.exit_code == 1
        assert "churn train" in _text(empty.output)
        trained = runner.invoke(app, ["churn", "train", "--as-of", "2026-05-31"])
        assert trained.exit_code == 0, trained.output
        for text in ("Class balance", "ROC-AUC", "Health score", "Expected calibration error"):
            assert text in trained.output
        again = runner.invoke(app, ["churn", "train", "--horizon", "45", "--promote"])
        assert again.exit_code == 0, again.output
        out = tmp_path / "r.html"
        report = runner.invoke(app, ["churn", "report", "v0001", "--out", str(out)])
        assert report.exit_code == 0, report.output
        assert out.read_text().count("<svg") >= 5
        scored = runner.invoke(app, ["churn", "score", "--as-of", "2026-05-31"])
        assert scored.exit_code == 0, scored.output
        assert "with v0002" in _text(scored.output)
        assert "Outcomes now known for earlier predictions" in _text(scored.output)
        both = runner.invoke(
            app, ["churn", "score", "--as-of", "2026-05-31", "--explain", "high,medium"]
        )
        assert "(high, medium)" in _text(both.output)
        bad_band = runner.invoke(app, ["churn", "score", "--explain", "urgent"])
        assert bad_band.exit_code == 2
        assert "unknown risk band urgent" in _text(bad_band.output)
        rolled = runner.invoke(app, ["churn", "rollback"])
        assert "v0001 is active again" in _text(rolled.output)
        drift = runner.invoke(app, ["churn", "drift", "--as-of", "2026-05-31"])
        assert drift.exit_code == 0, drift.output
        assert "PSI" in drift.output
        models = runner.invoke(app, ["churn", "models"])
        assert "v0001" in models.output
        assert "v0002" in models.output
        unknown = runner.invoke(app, ["churn", "report", "v0042"])
        assert unknown.exit_code == 1
        assert "No churn model version" in _text(unknown.output)
    finally:
        get_settings.cache_clear()
