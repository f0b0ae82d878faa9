"""Reading many rows as the driver answers them, converted a whole column at a time.

SQLAlchemy converts every value of a typed result column with a Python call: on SQLite a
UUID, a date or a timestamp is parsed from text one value at a time. On a 100,000-row read
of a few such columns that costs more than the query (1.0 s against 2.2 s for the churn
features of 100,000 suppliers). :func:`untyped` makes a query answer the driver's own
values; the converters below turn a column of them into what the caller needs, from either
backend: SQLite's text, or the objects asyncpg builds in C.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import Select, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import NullType

FloatArray = npt.NDArray[np.float64]

_EPOCH_DAY = date(1970, 1, 1).toordinal()


def untyped(statement: Select[Any]) -> Select[Any]:
    """``statement`` with the same columns, names and joins, answering raw driver values."""
    columns = [type_coerce(c, NullType()).label(c.key) for c in statement.selected_columns]
    return cast("Select[Any]", statement.with_only_columns(*columns, maintain_column_froms=True))


def _first(values: Sequence[Any]) -> Any:
    return next((v for v in values if v is not None), None)


def uuids(values: Sequence[uuid.UUID | str]) -> list[uuid.UUID]:
    """UUIDs from a ``Uuid`` column: objects already (PostgreSQL) or 32 hex digits (SQLite)."""
    if isinstance(_first(values), uuid.UUID):
        return list(values)  # type: ignore[arg-type]
    return [uuid.UUID(hex=str(v)) for v in values]


class epoch_or_text(FunctionElement[Any]):  # noqa: N801 (SQL function style)
    """A timestamp column as :func:`epoch_seconds` converts it fastest from each backend:
    PostgreSQL answers its epoch seconds (a float: building 500,000 datetime objects and
    asking each for its timestamp costs more than the query), SQLite its ISO text (which
    NumPy parses in C; SQLite's own ``strftime('%s')`` is slower and drops microseconds)."""

    inherit_cache = True
    type = NullType()


@compiles(epoch_or_text)
def _epoch_or_text_text(element: epoch_or_text, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(epoch_or_text, "postgresql")
def _epoch_or_text_epoch(element: epoch_or_text, compiler: Any, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS FLOAT8)"


def epoch_seconds(values: Sequence[datetime | str | float | None]) -> FloatArray:
    """Seconds since the epoch of a UTC timestamp column (NaN for NULL): from SQLite's text,
    datetime objects, or the seconds themselves (:class:`epoch_or_text` on PostgreSQL)."""
    first = _first(values)
    if isinstance(first, float | int):
        seconds: FloatArray = np.asarray(values, dtype=np.float64)  # None -> NaN
        return seconds
    if isinstance(first, str):  # SQLite: ISO text in UTC, parsed by NumPy in C
        micros = np.asarray(values, dtype="datetime64[us]")
        result: FloatArray = np.where(
            np.isnat(micros), np.nan, micros.astype(np.int64) / 1_000_000.0
        )
        return result
    return np.fromiter(
        (np.nan if v is None else v.timestamp() for v in values),  # type: ignore[union-attr]
        dtype=np.float64,
        count=len(values),
    )


def epoch_days(values: Sequence[date | str | None]) -> FloatArray:
    """Days since the epoch of a date column (NaN for NULL)."""
    if isinstance(_first(values), str):  # SQLite: ISO text
        days = np.asarray(values, dtype="datetime64[D]")
        result: FloatArray = np.where(np.isnat(days), np.nan, days.astype(np.int64))
        return result.astype(np.float64)
    # Ordinals, not datetime64: NumPy converts date objects one slow call at a time.
    return np.fromiter(
        (np.nan if v is None else v.toordinal() - _EPOCH_DAY for v in values),  # type: ignore[union-attr]
        dtype=np.float64,
        count=len(values),
    )


def epoch_day(day: date) -> int:
    """The day's number on the scale of :func:`epoch_days`."""
    return day.toordinal() - _EPOCH_DAY


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a bulk read builds its rows.

    A read of a few hundred thousand rows allocates millions of small objects (tuples,
    strings), each allocation counting towards the next collection, so the collector runs
    again and again over a heap that only grows: on a 300,000-row read that cost more than
    the fetch itself. Rows hold no cycles, so nothing is lost by collecting once afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
