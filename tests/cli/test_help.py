"""The command line teaches itself: every group and command is listed and explains itself,
and importing it loads none of the heavy libraries (they load in the commands that use them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from wedsync_success.cli import app

runner = CliRunner()
SRC = Path(__file__).resolve().parents[2] / "src"

COMMANDS: dict[str, set[str]] = {
    "serve": set(),
    "demo": set(),
    "db": {"upgrade", "current"},
    "import": {"events", "suppliers", "subscriptions", "surveys"},
    "health": {"recompute"},
    "suppliers": {"show"},
    "apikey": {"create", "list", "revoke"},
    "events": {"dispatch"},
    "churn": {"train", "report", "models", "promote", "rollback", "score", "drift", "outcomes"},
    "user": {"create", "password", "disable"},
    "surveys": {"send", "responses", "nps", "csat"},
    "segments": {"list", "show", "evaluate", "members"},
    "report": {"retention", "roi", "model-accuracy", "nps", "csat", "monthly"},
    "marketing": {"status", "flush"},
    "secrets": {"rekey"},
}
"""What a user finds in ``--help`` (commands added later belong here too)."""

HEAVY = ("lightgbm", "sklearn", "matplotlib", "scipy", "fastapi", "uvicorn", "sqlalchemy")


def _invocations() -> list[list[str]]:
    paths = [[name] for name in COMMANDS]
    paths += [[group, command] for group, commands in COMMANDS.items() for command in commands]
    return paths


def _summary(path: list[str]) -> str:
    """The first line of the help text that the app defines for ``path``."""
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return (command.help or "").strip().splitlines()[0] if command.help else ""


def test_top_level_help_lists_every_group_and_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    listed = {line.split()[1] for line in result.output.splitlines() if line.startswith("│ ")}
    assert set(COMMANDS) <= listed, f"missing from --help: {set(COMMANDS) - listed}"


@pytest.mark.parametrize("group", [g for g, commands in COMMANDS.items() if commands])
def test_group_help_lists_its_commands(group: str) -> None:
    result = runner.invoke(app, [group, "--help"])
    assert result.exit_code == 0, result.output
    listed = {line.split()[1] for line in result.output.splitlines() if line.startswith("│ ")}
    assert COMMANDS[group] <= listed, f"missing from {group} --help: {COMMANDS[group] - listed}"


@pytest.mark.parametrize("path", _invocations(), ids=" ".join)
def test_every_help_says_what_it_does(path: list[str]) -> None:
    summary = _summary(path)
    assert len(summary.split()) >= 3, f"{' '.join(path)} has no description"
    result = runner.invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    words = " ".join(result.output.replace("│", " ").split())
    assert " ".join(summary.split()) in words


def test_import_events_help_documents_the_file_format() -> None:
    result = runner.invoke(app, ["import", "events", "--help"], terminal_width=200)
    assert "CSV columns" in result.output
    assert "Exit status" in result.output


def test_importing_the_cli_loads_no_heavy_library() -> None:
    probe = (
        "import sys, wedsync_success.cli\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "", f"imported at start-up: {done.stdout.strip()}"
    # The probe can see a heavy import: the churn command module does load them on use.
    used = probe.replace(
        "import sys, wedsync_success.cli", "import sys, wedsync_success.churn.registry"
    )
    done = subprocess.run(
        [sys.executable, "-c", used], env=env, capture_output=True, text=True, check=True
    )
    assert "lightgbm" in done.stdout
