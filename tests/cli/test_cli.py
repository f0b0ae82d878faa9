"""The command line, end to end on each backend: keys, import with error report, rescoring."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from tests.factories import event, supplier
from wedsync_success.cli import app
from wedsync_success.db.migrate import sync_url
from wedsync_success.kit.cli import console

runner = CliRunner()


def _register_supplier(tmp_path: Path) -> str:
    """Register one supplier through the CLI's own database, via the import of its events."""
    from wedsync_success.kit.cli import run
    from wedsync_success.suppliers.service import upsert_batch

    body = supplier(signed_up_at="2026-01-01T00:00:00+00:00")

    async def work(ctx):  # type: ignore[no-untyped-def]
        async with ctx.db.transaction() as session:
            await upsert_batch(session=session, items=[body], now=ctx.clock())

    run(work)
    return str(body["id"])


def test_apikey_create_list_revoke(cli_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "width", 200)  # one table row per key
    created = runner.invoke(
        app, ["apikey", "create", "--scope", "read", "--scope", "ingest", "--name", "zapier"]
    )
    assert created.exit_code == 0, created.output
    assert "wss_" in created.output
    key_id = re.search(r"Key ([0-9a-f-]{36})", created.output).group(1)  # type: ignore[union-attr]
    listed = runner.invoke(app, ["apikey", "list"])
    assert "zapier" in listed.output
    assert "wss_" in listed.output  # the prefix only
    assert runner.invoke(app, ["apikey", "revoke", key_id]).exit_code == 0
    runner.invoke(app, ["apikey", "create", "--scope", "read", "--name", "[red]ops[/red]"])
    assert "[red]ops[/red]" in runner.invoke(app, ["apikey", "list"]).output  # never markup
    bad = runner.invoke(app, ["apikey", "create", "--scope", "superuser"])
    assert bad.exit_code == 1
    assert "Unknown scope 'superuser'" in bad.output


def test_import_reports_each_rejected_line_and_is_idempotent(cli_db: str, tmp_path: Path) -> None:
    sid = _register_supplier(tmp_path)
    when = datetime.now(UTC) - timedelta(days=1)
    lines = [
        json.dumps(event(sid, "login", when)),
        json.dumps(event(sid, "client_added", when)),
        "{not json",
        json.dumps(event(sid, "login", when) | {"supplier_id": str(uuid.uuid4())}),
        json.dumps(event(sid, "login", when) | {"occurred_at": "soon"}),
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = tmp_path / "rejected.csv"

    first = runner.invoke(app, ["import", "events", str(path), "--errors-out", str(report)])
    assert first.exit_code == 2, first.output
    assert "2 accepted" in first.output
    assert "3 rejected" in first.output
    rejected = report.read_text().splitlines()
    assert rejected[0] == "line,field,reason"
    assert [r.split(",")[:2] for r in rejected[1:]] == [
        ["3", ""],
        ["4", "supplier_id"],
        ["5", "occurred_at"],
    ]

    second = runner.invoke(app, ["import", "events", str(path)])
    assert "0 accepted, 2 duplicates" in second.output


def test_import_csv_with_extra_columns(cli_db: str, tmp_path: Path) -> None:
    sid = _register_supplier(tmp_path)
    path = tmp_path / "events.csv"
    when = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    path.write_text(
        "event_id,supplier_id,type,occurred_at,amount,kind,properties\n"
        f'e1,{sid},payment_received,{when},4900,client_invoice,"{{""method"": ""card""}}"\n'
        f"e2,{sid},login,{when},,,\n"
    )
    result = runner.invoke(app, ["import", "events", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 accepted" in result.output
    shown = runner.invoke(app, ["suppliers", "show", sid])
    assert shown.exit_code == 0, shown.output
    assert "First payment received" in shown.output
    assert "✓" in shown.output


def test_import_csv_without_required_columns_says_which(cli_db: str, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("id,when\n1,2\n")
    result = runner.invoke(app, ["import", "events", str(path)])
    assert result.exit_code == 1
    assert "event_id: missing column" in result.output


def test_health_recompute_backfills_history(cli_db: str, tmp_path: Path) -> None:
    sid = _register_supplier(tmp_path)
    today = datetime.now(UTC).date()
    result = runner.invoke(
        app,
        [
            "health",
            "recompute",
            "--since",
            (today - timedelta(days=14)).isoformat(),
            "--every",
            "7",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Scored 1 suppliers" in result.output
    shown = runner.invoke(app, ["suppliers", "show", sid])
    assert "Health" in shown.output
    bad = runner.invoke(app, ["health", "recompute", "--as-of", "yesterday"])
    assert bad.exit_code == 2
    assert "not a date" in bad.output


def test_suppliers_show_unknown_id(cli_db: str) -> None:
    result = runner.invoke(app, ["suppliers", "show", str(uuid.uuid4())])
    assert result.exit_code == 1
    assert "No supplier with id" in result.output


def test_import_progress_counts_lines(cli_db: str, tmp_path: Path) -> None:
    sid = _register_supplier(tmp_path)
    when = datetime.now(UTC) - timedelta(hours=1)
    rows = [json.dumps(event(sid, "login", when, event_id=f"p{i}")) for i in range(7)]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(rows))  # no newline after the last line: it counts too
    result = runner.invoke(app, ["import", "events", str(path), "--batch-size", "3"])
    assert result.exit_code == 0, result.output
    assert "7/7" in result.output
    assert str(path.stat().st_size) not in result.output


def test_import_batches_default_to_the_largest_the_service_takes(
    cli_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wedsync_success.config import get_settings

    sid = _register_supplier(tmp_path)
    monkeypatch.setenv("WEDSYNC_MAX_BATCH_SIZE", "3")
    get_settings.cache_clear()
    when = datetime.now(UTC) - timedelta(hours=1)
    rows = [json.dumps(event(sid, "login", when, event_id=f"b{i}")) for i in range(7)]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(rows) + "\n")
    result = runner.invoke(app, ["import", "events", str(path)])
    assert result.exit_code == 0, result.output
    assert "7 accepted" in result.output
    engine = create_engine(sync_url(cli_db))
    with engine.connect() as conn:  # one stored batch per transaction: 3 + 3 + 1
        assert conn.execute(text("SELECT count(*) FROM activity_batches")).scalar_one() == 3
    engine.dispose()


def test_import_rescores_the_touched_suppliers_once_at_the_end(
    cli_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wedsync_success import pipeline

    first, second = _register_supplier(tmp_path), _register_supplier(tmp_path)
    when = datetime.now(UTC) - timedelta(hours=1)
    rows = [
        json.dumps(event(sid, "login", when, event_id=f"r{sid[:4]}{i}"))
        for i in range(4)
        for sid in (first, second)
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(rows) + "\n")
    rescored: list[list[uuid.UUID] | None] = []
    real_refresh = pipeline.refresh

    async def counting_refresh(**kwargs):  # type: ignore[no-untyped-def]
        rescored.append(kwargs["supplier_ids"])
        return await real_refresh(**kwargs)

    monkeypatch.setattr(pipeline, "refresh", counting_refresh)
    result = runner.invoke(app, ["import", "events", str(path), "--batch-size", "3"])
    assert result.exit_code == 0, result.output
    assert "8 accepted" in result.output
    assert "2 suppliers rescored" in result.output
    assert rescored == [sorted([uuid.UUID(first), uuid.UUID(second)])]  # 3 batches, 1 rescore
    shown = runner.invoke(app, ["suppliers", "show", first])
    assert "Health" in shown.output
    again = runner.invoke(app, ["import", "events", str(path)])
    assert "0 accepted, 8 duplicates" in again.output
    assert "rescored" not in again.output  # nothing new: nothing to rescore


def test_timestamps_without_an_offset_need_a_timezone(cli_db: str, tmp_path: Path) -> None:
    sid = _register_supplier(tmp_path)
    path = tmp_path / "local.csv"
    path.write_text(
        "event_id,supplier_id,type,occurred_at\n"
        f"z1,{sid},login,2026-07-01T10:00:00\n"
        f"z2,{sid},login,2026-07-01T10:00:00+00:00\n"
    )
    refused = runner.invoke(app, ["import", "events", str(path)])
    assert refused.exit_code == 2, refused.output
    assert "1 accepted" in refused.output
    assert "occurred_at" in refused.output
    path.write_text(path.read_text().replace("z2,", "z3,"))
    local = runner.invoke(app, ["import", "events", str(path), "--timezone", "Europe/London"])
    assert local.exit_code == 0, local.output
    assert "2 accepted" in local.output  # z1 in London time, and z3
    engine = create_engine(sync_url(cli_db))
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT occurred_at FROM activity_events WHERE event_id = 'z1'")
        ).scalar_one()
    engine.dispose()
    moment = stored if isinstance(stored, datetime) else datetime.fromisoformat(stored)
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    assert utc == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)  # BST is UTC+1
    bad = runner.invoke(app, ["import", "events", str(path), "--timezone", "Mars/Olympus"])
    assert bad.exit_code == 2
    assert "--timezone" in bad.output


def test_import_prints_reasons_verbatim(cli_db: str, tmp_path: Path) -> None:
    """Reasons hold brackets (patterns, JSON paths): Rich must not read them as markup."""
    from wedsync_success.activity.validation import parse_batch

    sid = _register_supplier(tmp_path)
    bad = event(sid, "login", datetime.now(UTC) - timedelta(hours=1)) | {"type": "Not A Type"}
    expected = parse_batch([bad], now=datetime.now(UTC)).rejected[0].reason
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(bad) + "\n")
    report = tmp_path / "rejected.csv"
    result = runner.invoke(
        app, ["import", "events", str(path), "--errors-out", str(report)], terminal_width=200
    )
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert expected in report.read_text()


def test_import_report_keeps_square_brackets(capsys: pytest.CaptureFixture[str]) -> None:
    from wedsync_success.import_cli import ImportReport, print_import_report

    reason = "should match pattern '^[a-z][a-z0-9_.]*$' [bold]not markup[/bold]"
    print_import_report(ImportReport(rejected=1, problems=[(3, "type", reason)]), None)
    shown = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "'^[a-z][a-z0-9_.]*$'" in shown
    assert "[bold]not markup[/bold]" in shown


@pytest.fixture
def receipts_table_gone(cli_db: str) -> Iterator[None]:
    """The dispatcher cannot write its receipts: delivering any success event fails."""
    engine = create_engine(sync_url(cli_db))
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE consumer_receipts RENAME TO consumer_receipts_away"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE consumer_receipts_away RENAME TO consumer_receipts"))
        engine.dispose()


def test_a_failed_dispatch_keeps_the_import_report(
    cli_db: str, receipts_table_gone: None, tmp_path: Path
) -> None:
    """A first client added is a milestone: its success event cannot be delivered."""
    sid = _register_supplier(tmp_path)
    when = datetime.now(UTC) - timedelta(hours=1)
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(event(sid, "client_added", when)) + "\n{not json\n")
    report = tmp_path / "rejected.csv"
    result = runner.invoke(app, ["import", "events", str(path), "--errors-out", str(report)])
    assert result.exit_code == 1, result.output
    assert "1 accepted, 0 duplicates, 1 rejected" in result.output
    assert report.read_text().splitlines()[1].startswith("2,")
    said = " ".join(result.output.split())
    assert "delivering its success events failed" in said
    assert "consumer_receipts" in said
    assert "wedsync-success events dispatch" in said
