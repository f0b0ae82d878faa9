"""What every command-line module shares: running work with a context, progress, date options.

Only Typer and Rich are imported here: the settings, the database and the domains load when
a command runs (:func:`run`), so ``--help`` answers without them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    import uuid
    from zoneinfo import ZoneInfo

    from rich.progress import Progress, TaskID

    from wedsync_success.config import Settings
    from wedsync_success.context import AppContext

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)


def parse_day(value: str | None, name: str) -> date | None:
    """An optional ``YYYY-MM-DD`` option; a bad value is refused naming the option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from None


def parse_window(start: str, end: str) -> tuple[date, date]:
    """A report's required ``--from`` and ``--to`` days; a bad value is refused naming its
    option (the report itself refuses a ``--to`` that is not after ``--from``)."""
    first, after = parse_day(start, "--from"), parse_day(end, "--to")
    assert first is not None
    assert after is not None
    return first, after


def parse_zone(value: str | None, name: str) -> ZoneInfo | None:
    """An optional IANA time zone option; an unknown zone is refused naming the option."""
    if value is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(
            f"{value!r} is not a known IANA time zone, e.g. Europe/London", param_hint=name
        ) from None


def parse_uuid(value: str, name: str) -> uuid.UUID:
    """A UUID argument; a bad value is refused naming the argument."""
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        raise typer.BadParameter("not a UUID", param_hint=name) from None


def print_error(message: str, details: list[dict[str, Any]] | None = None) -> None:
    """An error and its details on stderr, printed as given (never read as Rich markup)."""
    err_console.print(f"[bold red]Error:[/] {escape(message)}", highlight=False)
    for detail in details or []:
        field, reason = escape(str(detail.get("field", ""))), escape(str(detail.get("reason", "")))
        err_console.print(f"  • {field}: {reason}", highlight=False)


def run(work: Callable[[AppContext], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run ``work`` with a context, turning application errors into a clear message and exit 1."""
    import asyncio

    from wedsync_success.config import get_settings
    from wedsync_success.context import build_context
    from wedsync_success.kit.errors import WedSyncError

    async def main() -> T:
        ctx = build_context(settings or get_settings())
        try:
            return await work(ctx)
        finally:
            await ctx.close()

    try:
        return asyncio.run(main())
    except WedSyncError as exc:
        print_error(exc.message, exc.details)
        raise typer.Exit(1) from None


def progress_bar() -> Progress:
    """The one progress display of every command: stage, bar, done/total, time so far."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


class Stages:
    """A ``(stage, done, total)`` progress callback drawing one bar per stage on ``bar``."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total)
        self.bar.update(self.tasks[stage], completed=done, total=total)
