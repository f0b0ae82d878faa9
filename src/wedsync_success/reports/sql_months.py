"""Calendar-month numbers of stored instants, in SQL, the same on SQLite and PostgreSQL.

``month_number(x)`` is ``year * 12 + month - 1`` of the UTC instant ``x``; ``month_ceiling(x)``
the number of the first month start at or after ``x`` (``x``'s own month when ``x`` is
midnight on the 1st, else the next). A span ``[a, b)`` covers the month starts numbered
``month_ceiling(a)`` to ``month_ceiling(b) - 1``: month arithmetic becomes integer
arithmetic, with no join on a table of months.

SQLite stores instants as ``YYYY-MM-DD HH:MM:SS.ffffff`` text in UTC (``db.types``), so the
numbers are read from the text; PostgreSQL takes them from the timestamp at UTC.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class month_number(FunctionElement[int]):  # noqa: N801 - reads as a SQL function
    type = Integer()
    inherit_cache = True


class month_ceiling(FunctionElement[int]):  # noqa: N801
    type = Integer()
    inherit_cache = True


def _arg(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    (clause,) = element.clauses
    return str(compiler.process(clause, **kw))


@compiles(month_number, "sqlite")
def _number_sqlite(element: month_number, compiler: SQLCompiler, **kw: Any) -> str:
    x = _arg(element, compiler, **kw)
    return f"(CAST(substr({x}, 1, 4) AS INTEGER) * 12 + CAST(substr({x}, 6, 2) AS INTEGER) - 1)"


@compiles(month_ceiling, "sqlite")
def _ceiling_sqlite(element: month_ceiling, compiler: SQLCompiler, **kw: Any) -> str:
    x = _arg(element, compiler, **kw)
    return (
        f"(CAST(substr({x}, 1, 4) AS INTEGER) * 12 + CAST(substr({x}, 6, 2) AS INTEGER) - 1"
        f" + (substr({x}, 9) <> '01 00:00:00.000000'))"
    )


def _number_of(utc: str) -> str:
    # date_part (double precision) and integer arithmetic: EXTRACT's numeric result makes
    # the same sum several times slower over a table of periods.
    return (
        f"(CAST(date_part('year', {utc}) AS INTEGER) * 12"
        f" + CAST(date_part('month', {utc}) AS INTEGER) - 1)"
    )


@compiles(month_number, "postgresql")
def _number_pg(element: month_number, compiler: SQLCompiler, **kw: Any) -> str:
    x = _arg(element, compiler, **kw)
    return _number_of(f"({x} AT TIME ZONE 'UTC')")


@compiles(month_ceiling, "postgresql")
def _ceiling_pg(element: month_ceiling, compiler: SQLCompiler, **kw: Any) -> str:
    x = _arg(element, compiler, **kw)
    # The month of the microsecond before, plus one: midnight on the 1st is its own month.
    before = f"(({x} - interval '1 microsecond') AT TIME ZONE 'UTC')"
    return f"({_number_of(before)} + 1)"


class greatest(FunctionElement[int]):  # noqa: N801
    """The larger of two integers that are never NULL, each evaluated once (a ``CASE``
    would repeat an argument's whole expression)."""

    type = Integer()
    inherit_cache = True


class least(FunctionElement[int]):  # noqa: N801
    """The smaller of two integers that are never NULL."""

    type = Integer()
    inherit_cache = True


def _pair(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return ", ".join(str(compiler.process(c, **kw)) for c in element.clauses)


@compiles(greatest, "sqlite")
def _greatest_sqlite(element: greatest, compiler: SQLCompiler, **kw: Any) -> str:
    return f"max({_pair(element, compiler, **kw)})"  # SQLite's scalar max


@compiles(least, "sqlite")
def _least_sqlite(element: least, compiler: SQLCompiler, **kw: Any) -> str:
    return f"min({_pair(element, compiler, **kw)})"


@compiles(greatest, "postgresql")
def _greatest_pg(element: greatest, compiler: SQLCompiler, **kw: Any) -> str:
    return f"GREATEST({_pair(element, compiler, **kw)})"


@compiles(least, "postgresql")
def _least_pg(element: least, compiler: SQLCompiler, **kw: Any) -> str:
    return f"LEAST({_pair(element, compiler, **kw)})"
