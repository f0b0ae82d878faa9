"""``import surveys``: a survey tool's export in (CSV and JSONL), per-line errors, the same
file again changes nothing, low scores become success events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from tests.cli.conftest import cli_db
from wedsync_success.cli import app
from wedsync_success.db.migrate import sync_url

__all__ = ["cli_db"]

runner = CliRunner()
SUPPLIERS = (
    "external_id,business_name,vendor_type,country,signed_up_at\n"
    "cus_a,Alder Florals,florist,GB,2025-01-01T00:00:00Z\n"
)


def _rows(url: str, sql: str) -> list[Any]:
    engine = create_engine(sync_url(url))
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql))]
    engine.dispose()
    return rows


def _words(output: str) -> str:
    return " ".join(output.replace("│", " ").split())


@pytest.fixture
def loaded(cli_db: str, tmp_path: Path) -> str:
    path = tmp_path / "suppliers.csv"
    path.write_text(SUPPLIERS)
    assert runner.invoke(app, ["import", "suppliers", str(path)]).exit_code == 0
    return cli_db


def test_import_surveys_from_csv_reports_each_bad_line(loaded: str, tmp_path: Path) -> None:
    path = tmp_path / "responses.csv"
    recent = (datetime.now(UTC) - timedelta(days=2)).isoformat()  # the CLI runs on real time
    path.write_text(
        "response_id,kind,score,comment,supplier_external_id,responded_at\n"
        "t-1,nps,10,Love it,cus_a,2026-01-05T10:00:00Z\n"
        f't-2,nps,4,"Too pricey, honestly",cus_a,{recent}\n'
        "t-9,nps,1,,cus_a,2025-01-05T10:00:00Z\n"  # history: stored, announces nothing
        "t-3,csat,5,,cus_a,2026-01-07T10:00:00Z\n"
        "t-4,csat,7,,cus_a,2026-01-07T10:00:00Z\n"  # off the CSAT scale
        "t-5,nps,9,,cus_nobody,2026-01-07T10:00:00Z\n"  # no such supplier
        "t-6,nps,nine,,cus_a,2026-01-07T10:00:00Z\n"  # not a number
        "t-7,nps,9,,cus_a,yesterday\n"
    )
    errors = tmp_path / "rejected.csv"
    result = runner.invoke(
        app, ["import", "surveys", str(path), "--errors-out", str(errors)], terminal_width=200
    )
    assert result.exit_code == 2, result.output
    assert "4 accepted" in _words(result.output)
    report = {int(r.split(",")[0]): r.split(",")[1] for r in errors.read_text().splitlines()[1:]}
    assert report == {6: "score", 7: "supplier_external_id", 8: "score", 9: "responded_at"}
    assert sorted(_rows(loaded, "SELECT response_id, score, source FROM survey_responses")) == [
        ("t-1", 10, "import"),
        ("t-2", 4, "import"),
        ("t-3", 5, "import"),
        ("t-9", 1, "import"),
    ]
    assert _rows(loaded, "SELECT comment FROM survey_responses WHERE response_id = 't-2'") == [
        ("Too pricey, honestly",)
    ]
    assert _rows(
        loaded, "SELECT event_type FROM outbox_events WHERE event_type LIKE 'survey.%'"
    ) == [("survey.detractor",)]
    nps = runner.invoke(
        app,
        ["report", "nps", "--from", "2025-01-01", "--to", "2027-01-01", "--by", "plan"],
        terminal_width=200,
    )
    assert nps.exit_code == 0, nps.output
    # 10, 4 and 1 (t-9, 2025): one promoter, two detractors of three: -33.3
    assert "total all 3 1 0 2 -33.3" in _words(nps.output)
    csat = runner.invoke(
        app, ["surveys", "csat", "--from", "2026-01-01", "--to", "2026-02-01", "--json"]
    )
    assert '"csat": 100.0' in csat.output
    again = runner.invoke(app, ["import", "surveys", str(path)], terminal_width=200)
    assert "0 accepted, 4 duplicates" in _words(again.output)
    assert _rows(loaded, "SELECT count(*) FROM survey_responses") == [(4,)]


def test_import_surveys_from_jsonl_and_a_bad_header(loaded: str, tmp_path: Path) -> None:
    path = tmp_path / "responses.jsonl"
    lines = [
        {
            "response_id": "j-1",
            "kind": "csat",
            "score": 2,
            "supplier_external_id": "cus_a",
            "responded_at": "2026-02-01T09:00:00+01:00",
        },
        {
            "response_id": "j-2",
            "kind": "nps",
            "score": "10",
            "supplier_external_id": "cus_a",
            "responded_at": "2026-02-01T09:00:00Z",
        },
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n{not json\n")
    result = runner.invoke(app, ["import", "surveys", str(path)], terminal_width=200)
    assert result.exit_code == 2, result.output
    assert _rows(loaded, "SELECT response_id FROM survey_responses") == [("j-1",)]
    bad = tmp_path / "bad.csv"
    bad.write_text("response_id,kind,score,responded_at,colour\n")
    refused = runner.invoke(app, ["import", "surveys", str(bad)], terminal_width=200)
    assert refused.exit_code == 1
