"""``report monthly``: the month's report written as one HTML file, and mailed to a list
through a real SMTP server (aiosmtpd), on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import free_port
from tests.interventions.smtp_server import Collector, smtp_server
from wedsync_success.cli import app
from wedsync_success.config import get_settings

runner = CliRunner()

SUPPLIERS = (
    "external_id,business_name,vendor_type,country,signed_up_at\n"
    "acme-1,Oak Hall Weddings,venue,GB,2025-12-01T09:00:00Z\n"
    "acme-2,Bloom & Vow,florist,GB,2025-12-01T09:00:00Z\n"
    "acme-3,Frame & Veil,photographer,GB,2025-12-01T09:00:00Z\n"
    "acme-4,Harbour Strings,band_dj,GB,2026-04-10T09:00:00Z\n"
)
PERIODS = (
    "supplier_external_id,plan,start_date,end_date,mrr_minor,currency\n"
    "acme-1,professional,2026-01-01,,4900,GBP\n"
    "acme-2,professional,2026-01-01,2026-04-10,4900,GBP\n"
    "acme-2,scale,2026-04-10,,9900,GBP\n"
    "acme-3,starter,2026-01-01,2026-04-15,1900,GBP\n"
    "acme-4,starter,2026-04-10,,1900,GBP\n"
)


@pytest.fixture
def history(cli_db: str, tmp_path: Path) -> str:
    """Three customers from January (one upgrades on 10 April, one leaves on 15 April) and
    one new in April."""
    (tmp_path / "s.csv").write_text(SUPPLIERS)
    (tmp_path / "p.csv").write_text(PERIODS)
    for kind, name in (("suppliers", "s.csv"), ("subscriptions", "p.csv")):
        result = runner.invoke(app, ["import", kind, str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    return cli_db


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    collector = Collector()
    controller = smtp_server(collector)
    monkeypatch.setenv("WEDSYNC_SMTP_URL", f"smtp://127.0.0.1:{controller.port}")
    monkeypatch.setenv("WEDSYNC_MAIL_FROM", "Success <success@wedsync.example>")
    get_settings.cache_clear()
    yield collector
    controller.stop()
    get_settings.cache_clear()


def test_the_report_is_one_file_with_the_months_figures(history: str, tmp_path: Path) -> None:
    out = tmp_path / "april.html"
    result = runner.invoke(app, ["report", "monthly", "--month", "2026-04", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "April 2026" in result.output
    html = out.read_text()
    assert "<title>WedSync Success · April 2026</title>" in html
    # 1 of the 3 customers of 1 April left; MRR £117 → £49 + £99 + £19 = £167.
    assert "1 of 3 suppliers left: a monthly logo churn of 33.3%" in html
    assert "MRR went from £117 to £167" in html
    assert "<script" not in html


def test_the_report_is_mailed_with_the_file_attached(
    history: str, tmp_path: Path, mailbox: Collector
) -> None:
    out = tmp_path / "april.html"
    result = runner.invoke(
        app,
        [
            "report", "monthly", "--month", "2026-04", "--out", str(out),
            "--email", "ceo@wedsync.example, cfo@wedsync.example",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    email = mailbox.only_email()
    assert email["Subject"] == "Customer success, April 2026"
    assert email["To"] == "ceo@wedsync.example, cfo@wedsync.example"
    body = email.get_body(("plain",))
    assert body is not None
    assert "monthly logo churn of 33.3%" in body.get_content()
    (attachment,) = list(email.iter_attachments())
    assert attachment.get_filename() == "april.html"
    assert attachment.get_content().rstrip("\n") == out.read_text().rstrip("\n")  # mail ends lines


def test_a_bad_address_is_refused_before_any_work(cli_db: str, tmp_path: Path) -> None:
    out = tmp_path / "x.html"
    result = runner.invoke(
        app, ["report", "monthly", "--out", str(out), "--email", "ceo@wedsync.example,nobody"]
    )
    assert result.exit_code == 2
    assert "'nobody' is not an email address" in result.output
    assert not out.exists()


def test_no_mail_server_is_a_clear_error(
    history: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEDSYNC_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    result = runner.invoke(
        app,
        ["report", "monthly", "--month", "2026-04", "--out", str(tmp_path / "a.html"),
         "--email", "ceo@wedsync.example"],
    )  # fmt: skip
    get_settings.cache_clear()
    assert result.exit_code == 1
    assert "did not take the report" in result.output
