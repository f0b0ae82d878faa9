"""`wedsync-success import events` on a hostile file, end to end: it finishes, stores the
good lines, and writes a report that can be read back (no NUL or surrogate in it)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from tests.cli.test_cli import _register_supplier
from tests.factories import event
from wedsync_success.cli import app


def test_a_hostile_file_is_imported_line_by_line(cli_db: str, tmp_path: Path) -> None:
    sid = _register_supplier(tmp_path)
    when = datetime.now(UTC) - timedelta(hours=2)
    lines = [
        json.dumps(event(sid, "login", when)).encode(),
        json.dumps(event(sid, "login", when, event_id="evt-\u0000")).encode(),
        json.dumps(event(sid, "login", when, event_id="evt-\ud800")).encode(),
        json.dumps(event(sid, "feature_used", when, properties={"k\ud800": 1})).encode(),
        b"[" * 50_000,
        b'{"event_id": "caf\xe9"}',
        json.dumps(event(sid, "client_added", when)).encode(),
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    report = tmp_path / "rejected.csv"

    result = CliRunner().invoke(app, ["import", "events", str(path), "--errors-out", str(report)])

    assert result.exit_code == 2, result.output
    assert "2 accepted" in result.output
    assert "5 rejected" in result.output
    with report.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["line", "field", "reason"]
    assert [row[:2] for row in rows[1:]] == [
        ["2", "event_id"],
        ["3", "event_id"],
        ["4", "properties.k\\ud800"],
        ["5", ""],
        ["6", ""],
    ]
    assert "\x00" not in report.read_text(encoding="utf-8")
