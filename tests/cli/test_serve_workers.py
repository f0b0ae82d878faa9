"""`serve --workers N`: several API processes only over an event bus they all share."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from wedsync_success.cli import app
from wedsync_success.kit.cli import err_console
from wedsync_success.web.serving import workers_refusal

runner = CliRunner()


def test_several_workers_on_the_in_process_bus_are_refused_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEDSYNC_EVENT_BUS_URL", "memory://")
    monkeypatch.setattr(err_console, "width", 300)
    result = runner.invoke(app, ["serve", "--workers", "2", "--port", "1"])
    assert result.exit_code == 1
    assert "live updates would not cross processes" in result.output
    assert "WEDSYNC_EVENT_BUS_URL" in result.output


def test_zero_workers_is_a_usage_error() -> None:
    result = runner.invoke(app, ["serve", "--workers", "0"])
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("workers", "url", "refused"),
    [
        (1, "memory://", False),
        (2, "memory://", True),
        (4, "MEMORY://", True),
        (2, "redis://127.0.0.1:6379/0", False),
        (8, "rediss://cache.example:6380/1", False),
    ],
)
def test_only_a_shared_bus_allows_more_than_one_worker(
    workers: int, url: str, refused: bool
) -> None:
    assert (workers_refusal(workers, url) is not None) is refused
