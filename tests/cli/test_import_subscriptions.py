"""``import subscriptions``: billed periods in, each supplier's subscription derived, on each
backend (the rules themselves: tests/suppliers/test_subscription_history.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from wedsync_success.cli import app
from wedsync_success.db.migrate import sync_url

runner = CliRunner()
SUPPLIERS = (
    "external_id,business_name,vendor_type,country,signed_up_at\n"
    "cus_a,Alder Florals,florist,GB,2025-01-01T00:00:00Z\n"
    "cus_b,Birch Studio,photographer,GB,2025-01-01T00:00:00Z\n"
)
HEADER = "supplier_external_id,plan,start_date,end_date,mrr_minor,currency,discount_minor\n"


def _rows(url: str, sql: str) -> list[Any]:
    engine = create_engine(sync_url(url))
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql))]
    engine.dispose()
    return rows


def _words(output: str) -> str:
    return " ".join(output.replace("│", " ").split())


@pytest.fixture
def suppliers_loaded(cli_db: str, tmp_path: Path) -> str:
    path = tmp_path / "suppliers.csv"
    path.write_text(SUPPLIERS)
    assert runner.invoke(app, ["import", "suppliers", str(path)]).exit_code == 0
    return cli_db


def test_import_subscriptions_stores_history_and_derives_each_subscription(
    suppliers_loaded: str, tmp_path: Path
) -> None:
    url = suppliers_loaded
    path = tmp_path / "periods.csv"
    path.write_text(
        HEADER
        + "cus_a,starter,2025-01-01,2025-06-01,1900,GBP,\n"  # then an upgrade
        + "cus_a,professional,2025-06-01,,4900,GBP,500\n"  # open, discounted
        + "cus_a,starter,2025-08-01,2025-09-01,1900,GBP,\n"  # a second subscription at once
        + "cus_b,scale,2025-01-01,2025-03-01,12900,GBP,\n"  # churned, then...
        + "cus_b,scale,2025-05-01,2025-07-01,12900,GBP,\n"  # ...came back, left again
        + "cus_x,starter,2025-01-01,,1900,GBP,\n"  # nobody
        + "cus_a,scale,2025-03-01,2025-02-01,12900,GBP,\n"  # ends before it starts
        + "cus_a,scale,2025-03-01,,-5,GBP,\n"  # negative MRR
        + "cus_a,professional,2025-07-01,,4900,GBP,\n"  # overlaps the open professional one
        + "cus_b,scale,2025-02-01,2025-04-01,12900,GBP,\n"  # overlaps the first scale one
    )
    errors = tmp_path / "rejected.csv"
    result = runner.invoke(
        app,
        ["import", "subscriptions", str(path), "--errors-out", str(errors)],
        terminal_width=200,
    )
    assert result.exit_code == 2, result.output
    assert "5 created, 0 updated, 5 rejected" in _words(result.output)
    report = {int(r.split(",")[0]): r for r in errors.read_text().splitlines()[1:]}
    assert report[7].startswith("7,supplier_external_id,no supplier has this external id")
    assert report[8].startswith("8,end_date,must be after start_date")
    assert report[9].startswith("9,mrr_minor,")
    assert "overlaps the professional period 2025-06-01 to open earlier in this batch" in report[10]
    assert "overlaps the scale period 2025-01-01 to 2025-03-01 earlier in this batch" in report[11]
    assert _rows(url, "SELECT count(*) FROM subscription_periods") == [(5,)]
    suppliers = dict(
        (r[0], r[1:])
        for r in _rows(
            url,
            "SELECT external_id, subscription_status, plan_tier, mrr_minor, "
            "subscription_ended_at FROM suppliers",
        )
    )
    assert suppliers["cus_a"][:3] == ("active", "professional", 4400)  # the starter one ended
    assert suppliers["cus_b"][:3] == ("cancelled", "scale", 12900)
    ended = suppliers["cus_b"][3]
    ended = ended if isinstance(ended, datetime) else datetime.fromisoformat(ended)
    assert ended.replace(tzinfo=None) == datetime(2025, 7, 1)

    again = runner.invoke(app, ["import", "subscriptions", str(path)], terminal_width=200)
    assert "0 created, 5 updated, 5 rejected" in _words(again.output)
    assert _rows(url, "SELECT count(*) FROM subscription_periods") == [(5,)]
    # A later file that overlaps what is stored is refused against it.
    later = tmp_path / "later.csv"
    later.write_text(HEADER + "cus_b,scale,2025-06-01,2025-08-01,12900,GBP,\n")
    refused = runner.invoke(app, ["import", "subscriptions", str(later)], terminal_width=200)
    assert refused.exit_code == 2
    assert "overlaps the scale period 2025-05-01 to 2025-07-01 already stored" in _words(
        refused.output
    )
