"""``report retention``: history imported through the CLI, the report as a table, CSV and
JSON, and its refusals (the figures themselves: tests/reports/test_retention.py)."""

from __future__ import annotations

import csv
import io
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
    "cus_b,Birch Studio,photographer,GB,2025-01-01T00:00:00Z\n"
)
PERIODS = (
    "supplier_external_id,plan,start_date,end_date,mrr_minor,currency,discount_minor\n"
    "cus_a,starter,2025-01-01,2025-02-15,1900,GBP,\n"  # an upgrade in February
    "cus_a,professional,2025-02-15,,4900,GBP,\n"
    "cus_b,scale,2025-01-01,2025-02-01,12900,EUR,900\n"  # churns at 1 February exactly
)
WINDOW = ["report", "retention", "--from", "2025-01-01", "--to", "2025-03-01"]


@pytest.fixture
def history(cli_db: str, tmp_path: Path) -> str:
    for kind, text in (("suppliers", SUPPLIERS), ("subscriptions", PERIODS)):
        path = tmp_path / f"{kind}.csv"
        path.write_text(text)
        result = runner.invoke(app, ["import", kind, str(path)])
        assert result.exit_code == 0, result.output
    return cli_db


def _words(output: str) -> str:
    return " ".join(output.replace("│", " ").split())


def test_the_table_shows_each_period_in_the_reporting_currency(
    history: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "width", 250)  # one table row per period
    result = runner.invoke(app, WINDOW)
    assert result.exit_code == 0, result.output
    words = _words(result.output)
    # January: both active, cus_b churns (€120 at 0.8696 = £104.35); February: +£30.
    assert "2025-01-01 → 2025-02-01 2 1 50.0%" in words
    assert "123.35 0.00 0.00 0.00 104.35 0.00 19.00" in words
    assert "2025-02-01 → 2025-03-01 1 0 0.0% 0.0% 0 0 1 19.00 0.00 30.00" in words
    assert "1 EUR = 0.8696 GBP" in words


def test_csv_has_a_row_per_period_and_currency_then_the_reporting_one(
    history: str, tmp_path: Path
) -> None:
    out = tmp_path / "retention.csv"
    result = runner.invoke(app, [*WINDOW, "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    keyed = {(r["start"], r["basis"], r["currency"]): r for r in rows}
    assert set(keyed) == {
        ("2025-01-01", "currency", "EUR"),
        ("2025-01-01", "currency", "GBP"),
        ("2025-01-01", "reporting", "GBP"),
        ("2025-02-01", "currency", "EUR"),
        ("2025-02-01", "currency", "GBP"),
        ("2025-02-01", "reporting", "GBP"),
    }
    euro = keyed[("2025-01-01", "currency", "EUR")]
    assert (euro["mrr_start"], euro["mrr_churned"], euro["mrr_end"]) == ("12000", "12000", "0")
    feb = keyed[("2025-02-01", "currency", "GBP")]
    assert (feb["mrr_start"], feb["mrr_expansion"], feb["mrr_end"], feb["nrr"]) == (
        "1900",
        "3000",
        "4900",
        str(4900 / 1900),
    )
    assert euro["churned"] == "1"
    assert euro["logo_churn_rate"] == "0.5"


def test_json_is_the_api_answer(history: str) -> None:
    result = runner.invoke(app, [*WINDOW, "--format", "json", "--currency", "EUR"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["reporting_currency"] == "EUR"
    assert [p["start"] for p in report["periods"]] == ["2025-01-01", "2025-02-01"]
    assert report["periods"][0]["reporting"]["mrr_churned"] == 12000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2025-13-01", "--to", "2025-03-01"], "--from"),
        (["--from", "2025-03-01", "--to", "2025-03-01"], "must be after from"),
        (["--from", "2015-01-01", "--to", "2025-03-01"], "at most 60 periods"),
        (["--from", "2025-01-01", "--to", "2025-03-01", "--period", "day"], "--period"),
        (["--from", "2025-01-01", "--to", "2025-03-01", "--currency", "CHF"], "no rate for CHF"),
    ],
)
def test_bad_options_are_refused_naming_them(cli_db: str, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["report", "retention", *args], terminal_width=200)
    assert result.exit_code != 0
    assert message in _words(result.output)
