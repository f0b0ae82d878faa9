"""``report nps`` / ``report csat`` (the same as ``surveys nps`` / ``surveys csat``): the
table per period and segment with its total, JSON, and a window refused by name (the
figures themselves: tests/surveys/test_metrics.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wedsync_success.cli import app
from wedsync_success.kit.cli import console

runner = CliRunner()
SUPPLIERS = (
    "external_id,business_name,vendor_type,country,signed_up_at\n"
    "cus_a,Alder Florals,florist,GB,2025-01-01T00:00:00Z\n"
)
RESPONSES = (
    "response_id,kind,score,supplier_external_id,responded_at\n"
    "r1,nps,10,cus_a,2026-01-05T09:00:00Z\n"
    "r2,nps,3,cus_a,2026-02-05T09:00:00Z\n"
    "r3,csat,5,cus_a,2026-01-05T09:00:00Z\n"
    "r4,csat,2,cus_a,2026-01-06T09:00:00Z\n"
)
WINDOW = ["--from", "2026-01-01", "--to", "2026-03-01"]


@pytest.fixture
def answered(cli_db: str, tmp_path: Path) -> str:
    for kind, text in (("suppliers", SUPPLIERS), ("surveys", RESPONSES)):
        path = tmp_path / f"{kind}.csv"
        path.write_text(text)
        result = runner.invoke(app, ["import", kind, str(path)])
        assert result.exit_code == 0, result.output
    return cli_db


def _words(output: str) -> str:
    return " ".join(output.replace("│", " ").split())


@pytest.mark.usefixtures("answered")
def test_nps_and_csat_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "width", 200)
    nps = runner.invoke(app, ["report", "nps", *WINDOW])
    assert nps.exit_code == 0, nps.output
    words = _words(nps.output)
    assert "NPS 2026-01-01 to 2026-03-01 (exclusive), by none" in words
    assert "2026-01-01 all 1 1 0 0 100.0" in words
    assert "2026-02-01 all 1 0 0 1 -100.0" in words
    assert "total all 2 1 0 1 0.0" in words
    csat = runner.invoke(app, ["report", "csat", *WINDOW, "--by", "trigger"])
    assert csat.exit_code == 0, csat.output
    words = _words(csat.output)
    assert "CSAT 2026-01-01 to 2026-03-01 (exclusive), by trigger" in words
    assert "2026-01-01 unprompted 2 1 50.0" in words
    assert "2026-02-01 all 0 0 –" in words
    assert "total all 2 1 50.0" in words


@pytest.mark.usefixtures("answered")
def test_json_and_a_refused_window() -> None:
    result = runner.invoke(app, ["surveys", "csat", *WINDOW, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert (body["total"]["responses"], body["total"]["csat"]) == (2, 50.0)
    refused = runner.invoke(app, ["report", "nps", "--from", "2026-03-01", "--to", "2026-03-01"])
    assert refused.exit_code != 0
    assert "--to" in refused.output
