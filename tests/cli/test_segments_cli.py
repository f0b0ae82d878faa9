"""``segments list|show|evaluate|members``: the default segments listed, evaluation over
everyone with its counts, members as a table and as CSV, an unknown key refused by name."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wedsync_success.cli import app
from wedsync_success.kit.cli import console

runner = CliRunner()
SUPPLIERS = (
    "external_id,business_name,vendor_type,country,signed_up_at,plan_tier\n"
    "cus_a,Aperture Studio,photographer,GB,2025-01-01T00:00:00Z,professional\n"
    "cus_b,Bright Lens,photographer,GB,2025-01-01T00:00:00Z,professional\n"
    "cus_c,Alder Florals,florist,GB,2025-01-01T00:00:00Z,professional\n"
)
AT_RISK = "at_risk_photographers_professional"


@pytest.fixture
def imported(cli_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(console, "width", 200)
    path = tmp_path / "suppliers.csv"
    path.write_text(SUPPLIERS)
    result = runner.invoke(app, ["import", "suppliers", str(path)])
    assert result.exit_code == 0, result.output
    return cli_db


def _words(output: str) -> str:
    return " ".join(output.replace("│", " ").split())


@pytest.mark.usefixtures("imported")
def test_evaluate_list_show_and_members() -> None:
    evaluated = runner.invoke(app, ["segments", "evaluate"])
    assert evaluated.exit_code == 0, evaluated.output
    words = _words(evaluated.output)
    assert AT_RISK in words
    listed = _words(runner.invoke(app, ["segments", "list"]).output)
    assert f"{AT_RISK} At-risk photographers on the Professional plan file 2" in listed
    assert "onboarding_stalled" in listed
    shown = runner.invoke(app, ["segments", "show", AT_RISK])
    assert shown.exit_code == 0, shown.output
    assert '"health.risk_level"' in shown.output
    table = _words(runner.invoke(app, ["segments", "members", AT_RISK]).output)
    assert "cus_a Aperture Studio photographer professional GB" in table
    assert "2 of 2 members" in table

    exported = runner.invoke(app, ["segments", "members", AT_RISK, "--csv"])
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert sorted(r["external_id"] for r in rows) == ["cus_a", "cus_b"]

    again = _words(runner.invoke(app, ["segments", "evaluate", "--key", AT_RISK]).output)
    assert f"{AT_RISK} 0 0 2" in again  # nothing entered or left the second time


@pytest.mark.usefixtures("imported")
def test_an_unknown_segment_is_refused_by_name() -> None:
    result = runner.invoke(app, ["segments", "evaluate", "--key", "nope"])
    assert result.exit_code == 1
    assert "nope" in result.output
    assert runner.invoke(app, ["segments", "show", "nope"]).exit_code == 1
