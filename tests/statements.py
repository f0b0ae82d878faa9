"""Counting the SQL statements a piece of work sends, to guard hot paths against N+1 creep."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from wedsync_success.context import AppContext


@contextmanager
def counted_statements(ctx: AppContext) -> Iterator[list[str]]:
    """Every SQL statement the context's engine sends while the block is open, in order."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    event.listen(ctx.db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(ctx.db.engine.sync_engine, "before_cursor_execute", record)
