"""``events prune``: the window comes from --months or the setting, and neither is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wedsync_success.cli import app
from wedsync_success.config import get_settings

runner = CliRunner()


def test_prune_without_a_window_says_how_to_give_one(cli_db: str) -> None:
    result = runner.invoke(app, ["events", "prune"])
    assert result.exit_code == 2
    assert "WEDSYNC_RAW_EVENT_RETENTION_MONTHS" in result.output


def test_prune_takes_the_window_from_the_setting(
    cli_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEDSYNC_RAW_EVENT_RETENTION_MONTHS", "3")
    get_settings.cache_clear()
    result = runner.invoke(app, ["events", "prune"])
    assert result.exit_code == 0, result.output
    assert "Removed 0 raw events from before" in result.output


def test_prune_archives_into_the_folder_given(cli_db: str, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["events", "prune", "--months", "2", "--archive", str(tmp_path / "archive")]
    )
    assert result.exit_code == 0, result.output
    assert "Removed 0 raw events" in result.output  # nothing old: no file either
    assert not (tmp_path / "archive").exists()


def test_prune_refuses_an_archive_that_is_a_file(cli_db: str, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("")
    result = runner.invoke(
        app, ["events", "prune", "--months", "2", "--archive", str(tmp_path / "taken")]
    )
    assert result.exit_code == 2
    assert "--archive" in result.output


def test_prune_refuses_a_window_of_no_months(cli_db: str) -> None:
    assert runner.invoke(app, ["events", "prune", "--months", "0"]).exit_code == 2
