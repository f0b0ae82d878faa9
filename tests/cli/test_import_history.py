"""``import events --history`` from the command line: batches above the API's limit only
with ``--history``; on PostgreSQL the new months' per-supplier index is compacted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from tests.activity.test_history_import import _minutely
from tests.cli.test_cli import _register_supplier
from wedsync_success.cli import app


def test_the_command_takes_history_batches_only_with_history(cli_db: str, tmp_path: Path) -> None:
    sid = _register_supplier(tmp_path)
    start = datetime(2018, 1, 1, tzinfo=UTC)  # a month no other test writes
    path = _minutely(tmp_path / "history.csv", [sid], 30, start=start)

    refused = CliRunner().invoke(app, ["import", "events", str(path), "--batch-size", "6000"])
    assert refused.exit_code == 2, refused.output
    assert "--history" in refused.output

    result = CliRunner().invoke(app, ["import", "events", str(path), "--history"])
    assert result.exit_code == 0, result.output
    assert "30 accepted" in result.output
    if cli_db.startswith("postgresql"):
        assert "new months was compacted" in result.output
    again = CliRunner().invoke(app, ["import", "events", str(path), "--history"])
    assert again.exit_code == 0, again.output
    assert "0 accepted, 30 duplicates" in again.output
    assert "compacted" not in again.output  # no month is new
