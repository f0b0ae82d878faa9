"""``wedsync-success report cohorts|survival|ltv|churn-breakdown``: the same numbers as the
API, as a table, CSV or JSON, to stdout or --out; bad options refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.reports.history import store, supplier_row
from wedsync_success.cli import app
from wedsync_success.kit.cli import console, run

runner = CliRunner()


def _seed() -> None:
    rows = [
        supplier_row("2026-01-10", cancellation_reason=None),
        supplier_row("2026-01-20", ended="2026-03-01", cancellation_reason="too expensive"),
        supplier_row("2026-02-03", vendor_type="venue"),
    ]
    run(lambda ctx: store(ctx, rows))


def test_cohorts_as_csv_and_json(cli_db: str, tmp_path: Path) -> None:
    _seed()
    args = ["report", "cohorts", "--from", "2026-01-01", "--to", "2026-02-28"]
    csv_out = runner.invoke(app, [*args, "--as-of", "2026-06-15", "--format", "csv"])
    assert csv_out.exit_code == 0, csv_out.output
    lines = csv_out.output.splitlines()
    assert lines[0].startswith("cohort,size,m0,m1,m2")
    assert lines[1].startswith("2026-01,2,1.0,1.0,0.5")
    out = tmp_path / "cohorts.json"
    written = runner.invoke(
        app, [*args, "--as-of", "2026-06-15", "--format", "json", "--out", str(out)]
    )
    assert written.exit_code == 0, written.output
    body = json.loads(out.read_text())
    assert [r["key"] for r in body["rows"]] == ["2026-01", "2026-02"]


def test_every_report_prints_a_table(cli_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "width", 200)
    _seed()
    for args in (
        ["cohorts", "--by", "vendor_type", "--metric", "revenue", "--as-of", "2026-06-15"],
        ["survival", "--by", "vendor_type", "--as-of", "2026-06-15"],
        ["ltv", "--from", "2026-01-01", "--to", "2026-05-31", "--as-of", "2026-06-15"],
        ["churn-breakdown", "--from", "2026-02-15", "--to", "2026-03-14"],
    ):
        result = runner.invoke(app, ["report", *args])
        assert result.exit_code == 0, (args, result.output)
    ltv = runner.invoke(app, ["report", "ltv", "--as-of", "2026-06-15"])
    assert "gross margin 80%" in ltv.output
    breakdown = runner.invoke(
        app, ["report", "churn-breakdown", "--from", "2026-02-15", "--to", "2026-03-14"]
    )
    assert "too expensive" in breakdown.output


def test_bad_options_are_refused_by_name(cli_db: str) -> None:
    unknown = runner.invoke(app, ["report", "cohorts", "--by", "star_sign"])
    assert unknown.exit_code == 2
    assert "--by" in unknown.output
    bad_day = runner.invoke(app, ["report", "survival", "--from", "2026-13-01"])
    assert bad_day.exit_code == 2
    assert "--from" in bad_day.output
    backwards = runner.invoke(
        app, ["report", "churn-breakdown", "--from", "2026-03-01", "--to", "2026-02-01"]
    )
    assert backwards.exit_code == 1
    assert "to" in backwards.output
