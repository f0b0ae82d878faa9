"""`playbooks validate / list / results` and `worker --once` from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from wedsync_success.cli import app
from wedsync_success.config import DEFAULTS_DIR
from wedsync_success.kit.cli import console

runner = CliRunner()


def test_the_shipped_playbooks_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "width", 60)  # a long path must not break the line
    result = runner.invoke(app, ["playbooks", "validate", str(DEFAULTS_DIR / "playbooks.yaml")])
    assert result.exit_code == 0, result.output
    assert "7 playbooks" in result.output


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            lambda d: d["playbooks"][0]["steps"][0].update(template="no_such_template"),
            "playbooks.0.steps.0.template",
        ),
        (
            lambda d: d["playbooks"][2]["goal"].update(milestone="first_unicorn"),
            "playbooks.2.goal.milestone",
        ),
        (
            lambda d: d["playbooks"][0]["steps"][4].update(text="Hi {{ nickname }}"),
            "playbooks.0.steps.4.text",
        ),
        (lambda d: d["playbooks"][0]["steps"][1].update(wait="soon"), "playbooks.0.steps.1"),
    ],
)
def test_a_broken_file_is_refused_naming_the_field(
    tmp_path: Path, change: object, field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "width", 200)
    data = yaml.safe_load((DEFAULTS_DIR / "playbooks.yaml").read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path = tmp_path / "playbooks.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = runner.invoke(app, ["playbooks", "validate", str(path)])
    assert result.exit_code == 1
    assert field in result.output


def test_a_missing_file_is_refused_plainly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["playbooks", "validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "Cannot read" in result.output


def test_list_results_and_a_worker_round(cli_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEDSYNC_SECRET_KEY", "x" * 40)
    monkeypatch.setattr(console, "width", 200)
    listed = runner.invoke(app, ["playbooks", "list"])
    assert listed.exit_code == 0, listed.output
    assert "at_risk_rescue" in listed.output
    results = runner.invoke(app, ["playbooks", "results", "at_risk_rescue"])
    assert results.exit_code == 0, results.output
    assert "Enrolled 0" in results.output
    assert "no treated runs" in results.output or "no control" in results.output
    unknown = runner.invoke(app, ["playbooks", "results", "nope"])
    assert unknown.exit_code == 1
    assert "No playbook 'nope'" in unknown.output
    once = runner.invoke(app, ["worker", "--once"])
    assert once.exit_code == 0, once.output
    assert "Sent 0 messages." in once.output
