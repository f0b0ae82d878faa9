"""``days_after(column, n)``: a stored UTC timestamp moved by whole days, the same on both
backends.

PostgreSQL adds ``n * 24`` hours (adding ``n days`` to a ``timestamptz`` follows the session
time zone's daylight saving changes); SQLite shifts the date part of the stored text and
keeps its microseconds, so the result compares with other stored timestamps as text
exactly, boundaries included.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import SQLColumnExpression, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from wedsync_success.db.types import UTCDateTime


class days_after(FunctionElement[Any]):  # noqa: N801 - reads as a SQL function
    """``moment + n days`` for a UTC timestamp column or expression."""

    type = UTCDateTime()
    inherit_cache = True
    name = "days_after"

    def __init__(self, moment: SQLColumnExpression[Any], days: int) -> None:
        # The day count is a literal clause, so it is part of the statement's cache key.
        super().__init__(moment, literal_column(str(int(days))))


def _parts(element: days_after, compiler: SQLCompiler, **kw: Any) -> tuple[str, int]:
    moment, days = element.clauses
    return compiler.process(moment, **kw), int(compiler.process(days, **kw))


@compiles(days_after, "postgresql")
def _postgresql(element: days_after, compiler: SQLCompiler, **kw: Any) -> str:
    moment, days = _parts(element, compiler, **kw)
    return f"({moment} + make_interval(hours => {days * 24}))"


@compiles(days_after, "sqlite")
def _sqlite(element: days_after, compiler: SQLCompiler, **kw: Any) -> str:
    moment, days = _parts(element, compiler, **kw)
    return f"(strftime('%Y-%m-%d %H:%M:%S', {moment}, '{days:+d} days') || substr({moment}, 20))"
