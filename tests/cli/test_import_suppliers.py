"""``import suppliers``: a billing or CRM export in, matched on external ids, on each backend."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from wedsync_success.cli import app
from wedsync_success.db.migrate import sync_url

runner = CliRunner()

HEADER = (
    "external_id,business_name,vendor_type,country,signed_up_at,plan_tier,mrr_minor,currency,"
    "user_email,user_name\n"
)


def _rows(url: str, sql: str) -> list[Any]:
    engine = create_engine(sync_url(url))
    with engine.connect() as conn:
        rows = list(conn.execute(text(sql)))
    engine.dispose()
    return rows


def _words(output: str) -> str:
    return " ".join(output.replace("│", " ").split())


def test_a_csv_creates_then_updates_by_external_id_and_reports_each_bad_line(
    cli_db: str, tmp_path: Path
) -> None:
    path = tmp_path / "suppliers.csv"
    path.write_text(
        HEADER + "cus_1,Petal & Co,florist,GB,2024-03-01T09:00:00Z,professional,4900,GBP,"
        "ana@petal.example,Ana Petal\n"
        + "cus_2,Lens Studio,photographer,US,2024-05-10T00:00:00Z,,,USD,,\n"
        + "cus_3,Bad Type,juggler,GB,2024-03-01T00:00:00Z,,,,,\n"
        + ",No Id Ltd,venue,GB,2024-03-01T00:00:00Z,,,,,\n"
        + "cus_1,Petal Again,florist,GB,2024-03-01T00:00:00Z,,,,,\n"
        + "cus_4,Half Contact,venue,GB,2024-03-01T00:00:00Z,,,,bo@venue.example,\n"
    )
    errors = tmp_path / "rejected.csv"
    first = runner.invoke(
        app, ["import", "suppliers", str(path), "--errors-out", str(errors)], terminal_width=200
    )
    assert first.exit_code == 2, first.output
    said = _words(first.output)
    assert "2 created, 0 updated, 4 rejected" in said
    lines = {int(r.split(",")[0]): r.split(",")[1] for r in errors.read_text().splitlines()[1:]}
    assert lines == {4: "vendor_type", 5: "external_id", 6: "external_id", 7: ""}
    assert "repeats the external_id of item 0" in errors.read_text()
    assert "user_name: needed with user_email" in errors.read_text()
    stored = _rows(
        cli_db,
        "SELECT external_id, business_name, plan_tier, mrr_minor, currency, "
        "subscription_status FROM suppliers ORDER BY external_id",
    )
    assert [tuple(r) for r in stored] == [
        ("cus_1", "Petal & Co", "professional", 4900, "GBP", "active"),
        ("cus_2", "Lens Studio", "free", 0, "USD", "active"),  # the defaults of a new one
    ]
    users = _rows(cli_db, "SELECT email, name FROM supplier_users")
    assert [tuple(u) for u in users] == [("ana@petal.example", "Ana Petal")]

    again = runner.invoke(app, ["import", "suppliers", str(path)], terminal_width=200)
    assert "0 created, 2 updated, 4 rejected" in _words(again.output)
    assert _rows(cli_db, "SELECT count(*) FROM suppliers")[0][0] == 2


def test_a_line_that_leaves_fields_out_keeps_what_the_supplier_has(
    cli_db: str, tmp_path: Path
) -> None:
    created = tmp_path / "first.jsonl"
    ended = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    created.write_text(
        json.dumps(
            {
                "external_id": "acc-9",
                "business_name": "Hall & Oates Venue",
                "vendor_type": "venue",
                "country": "GB",
                "signed_up_at": "2023-01-01T00:00:00Z",
                "plan_tier": "scale",
                "mrr_minor": 19900,
                "subscription_status": "cancelled",
                "subscription_ended_at": ended,
                "cancellation_reason": "closed the business",
                "users": [{"email": "hall@venue.example", "name": "Hall"}],
            }
        )
        + "\n"
    )
    assert runner.invoke(app, ["import", "suppliers", str(created)]).exit_code == 0
    update = tmp_path / "update.jsonl"
    update.write_text(json.dumps({"external_id": "acc-9", "mrr_minor": 24900}) + "\n")
    result = runner.invoke(app, ["import", "suppliers", str(update)])
    assert result.exit_code == 0, result.output
    assert "0 created, 1 updated, 0 rejected" in _words(result.output)
    row = _rows(
        cli_db,
        "SELECT business_name, plan_tier, mrr_minor, subscription_status, cancellation_reason "
        "FROM suppliers",
    )[0]
    assert tuple(row) == ("Hall & Oates Venue", "scale", 24900, "cancelled", "closed the business")
    assert _rows(cli_db, "SELECT email FROM supplier_users")[0][0] == "hall@venue.example"
    # Reactivated: the status moves, and the end and reason of the old one go with it.
    back = tmp_path / "back.jsonl"
    back.write_text(json.dumps({"external_id": "acc-9", "subscription_status": "active"}) + "\n")
    assert runner.invoke(app, ["import", "suppliers", str(back)]).exit_code == 0
    row = _rows(cli_db, "SELECT subscription_status, subscription_ended_at FROM suppliers")[0]
    assert tuple(row) == ("active", None)


def test_a_csv_with_an_unknown_column_is_refused_before_anything_is_stored(
    cli_db: str, tmp_path: Path
) -> None:
    path = tmp_path / "typo.csv"
    path.write_text(
        "external_id,business_name,vendor_type,country,signed_up_at,plan_teir\n"
        "x1,Typo Ltd,venue,GB,2024-01-01T00:00:00Z,scale\n"
    )
    result = runner.invoke(app, ["import", "suppliers", str(path)], terminal_width=200)
    assert result.exit_code == 1
    said = _words(result.output)
    assert "columns this import does not know: plan_teir" in said
    assert _rows(cli_db, "SELECT count(*) FROM suppliers")[0][0] == 0
    missing = tmp_path / "missing.csv"
    missing.write_text("external_id,business_name\nx1,Short Ltd\n")
    refused = runner.invoke(app, ["import", "suppliers", str(missing)], terminal_width=200)
    assert refused.exit_code == 1
    assert "vendor_type: missing column" in _words(refused.output)


def test_events_then_name_the_imported_suppliers_by_their_external_ids(
    cli_db: str, tmp_path: Path
) -> None:
    suppliers = tmp_path / "suppliers.csv"
    suppliers.write_text(HEADER + "cus_7,Cake Co,cake,GB,2025-01-01T00:00:00Z,,,,,\n")
    assert runner.invoke(app, ["import", "suppliers", str(suppliers)]).exit_code == 0
    when = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    events = tmp_path / "events.csv"
    events.write_text(
        "event_id,supplier_external_id,type,occurred_at\n"
        f"e1,cus_7,client_added,{when}\n"
        f"e2,cus_404,login,{when}\n"
    )
    result = runner.invoke(app, ["import", "events", str(events)], terminal_width=200)
    assert result.exit_code == 2, result.output
    said = _words(result.output)
    assert "1 accepted, 0 duplicates, 1 rejected" in said
    assert "no supplier has this external id" in said
    assert "1 suppliers rescored" in said
    shown = runner.invoke(app, ["suppliers", "show", "cus_7"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "Cake Co" in shown.output


def test_a_header_ending_in_a_comma_is_read(cli_db: str, tmp_path: Path) -> None:
    path = tmp_path / "trailing.csv"
    path.write_text(
        "external_id,business_name,vendor_type,country,signed_up_at,\n"
        "t1,Trailing Ltd,venue,GB,2024-01-01T00:00:00Z,\n"
    )
    result = runner.invoke(app, ["import", "suppliers", str(path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "1 created" in _words(result.output)


def test_a_large_import_refreshes_the_planners_statistics_as_it_goes(
    cli_db: str, tmp_path: Path
) -> None:
    """asyncpg's prepared statements keep a generic plan made while the table was empty;
    without an ANALYZE during the import, every later batch scans the whole table."""
    if not cli_db.startswith("postgresql"):
        pytest.skip("SQLite plans each statement afresh: there is no stale plan to refresh")
    path = tmp_path / "many.csv"
    rows = (
        f"ext-{n},Oak Hall {n},venue,GB,2025-01-01T09:00:00Z,starter,1900,GBP,o{n}@oak.example,Jo\n"
        for n in range(2_500)
    )
    path.write_text(HEADER + "".join(rows))
    result = runner.invoke(app, ["import", "suppliers", str(path)])
    assert result.exit_code == 0, result.output
    (analyzed,) = _rows(
        cli_db,
        "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'suppliers'",
    )
    assert analyzed[0] is True


def test_on_sqlite_several_batches_share_a_commit(
    cli_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each SQLite commit writes every page its batches touched; the suppliers' indexes are
    touched again by every batch, so the command groups batches (PostgreSQL: one each)."""
    from wedsync_success import import_cli

    seen: list[int] = []
    real = import_cli.run_import

    async def spy(ctx: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["batches_per_commit"])
        return await real(ctx, **kwargs)

    monkeypatch.setattr(import_cli, "run_import", spy)
    path = tmp_path / "few.csv"
    path.write_text(
        HEADER
        + "".join(
            f"g-{n},Oak Hall {n},venue,GB,2025-01-01T09:00:00Z,starter,1900,GBP,g{n}@o.example,J\n"
            for n in range(5)
        )
    )
    result = runner.invoke(app, ["import", "suppliers", str(path), "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert seen == [10_000 if cli_db.startswith("sqlite") else 1]
    assert _rows(cli_db, "SELECT count(*) FROM suppliers WHERE external_id LIKE 'g-%'")[0][0] == 5
    assert import_cli.supplier_batches_per_commit("sqlite", 5000) == 4
    assert import_cli.supplier_batches_per_commit("sqlite", 30_000) == 1
    assert import_cli.supplier_batches_per_commit("postgresql", 5000) == 1
