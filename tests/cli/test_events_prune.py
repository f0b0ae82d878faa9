"""``events prune``: the window comes from --months or the setting, and neither is refused."""

from __future__ import annotations

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
    assert "Deleted 0 raw events from before" in result.output


def test_prune_refuses_a_window_of_no_months(cli_db: str) -> None:
    assert runner.invoke(app, ["events", "prune", "--months", "0"]).exit_code == 2
