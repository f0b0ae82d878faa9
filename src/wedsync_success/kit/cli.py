"""Helpers shared by the command-line modules."""

from __future__ import annotations

from datetime import date

import typer


def parse_day(value: str | None, name: str) -> date | None:
    """An optional ``YYYY-MM-DD`` option; a bad value is refused naming the option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from None
