"""Writes that meet no conflict: rows known to be new, and known rows' changed columns.

An upsert (``db.bulk.upsert_columns``) pays for the conflicts it might meet: on PostgreSQL
an ``INSERT ... SELECT FROM unnest(arrays) ON CONFLICT``, planned and checked row by row,
and on either backend an update of every column it names, so of every index over them.
A caller that read the rows under their locks knows better.

Rows known to be new (fresh UUIDs of suppliers it created, under the locks that keep
anyone else from creating them), :func:`insert_new`:

- PostgreSQL: ``COPY ... FROM STDIN`` in binary (asyncpg's ``copy_records_to_table``) on
  the session's own connection, inside its transaction;
- SQLite: a plain ``INSERT`` through the driver's ``executemany``, each value in the stored
  form SQLAlchemy would give it (each column type's bind processor).

A row that does exist after all fails the whole statement (a unique violation), as a plain
INSERT would: the transaction rolls back and nothing is half-written.

Known rows, :func:`update_columns`: only the columns given, by key, in one statement (an
``UPDATE ... FROM unnest(arrays)`` on PostgreSQL, an ``executemany`` of one-row UPDATEs on
SQLite).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from itertools import repeat
from typing import Any

from sqlalchemy import JSON, Table, bindparam, func, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from wedsync_success.db.bulk import sqlite_values


def _copy_values(values: Sequence[Any]) -> Sequence[Any]:
    """What asyncpg's binary COPY takes for a column's ``values``: enum members as their
    values. Decided by the column's distinct types (one C-level pass), so a column without
    enums, nearly all of them, is passed on as it is."""
    if not any(issubclass(kind, Enum) for kind in set(map(type, values))):
        return values
    return [v.value if isinstance(v, Enum) else v for v in values]


def _as_sqlalchemy_error(adapted: Any, statement: str, error: Exception) -> Exception:
    """``error`` from asyncpg itself (a COPY bypasses SQLAlchemy) as SQLAlchemy raises it for
    a statement (``IntegrityError``, ``OperationalError``... with the driver's SQLSTATE), so
    callers and the transaction retries see one kind of error whichever way rows went in."""
    try:
        adapted._handle_exception(error)  # raises the DB-API error SQLAlchemy's adapter maps
    except Exception as dbapi_error:
        return DBAPIError.instance(statement, None, dbapi_error, Exception)
    return error


async def copy_records(
    connection: AsyncConnection,
    table: str,
    columns: Sequence[str],
    records: Iterable[tuple[Any, ...]],
) -> None:
    """``records`` into ``table`` by binary ``COPY`` (asyncpg's ``copy_records_to_table``) on
    ``connection``'s own driver connection, inside its transaction; a failure is raised as
    SQLAlchemy raises a statement's (see :func:`_as_sqlalchemy_error`)."""
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection  # asyncpg's own connection, in this transaction
    try:
        await driver.copy_records_to_table(table, records=records, columns=list(columns))
    except Exception as exc:
        raise _as_sqlalchemy_error(raw.dbapi_connection, f"COPY {table}", exc) from exc


def _quoted(name: str) -> str:
    return f'"{name}"'


async def insert_new(
    session: AsyncSession,
    table: Table,
    columns: Mapping[str, Sequence[Any]],
    *,
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert the rows given as ``columns`` (name -> one value per row) plus ``constants``
    (name -> one value for every row) into ``table``, none of which may exist yet."""
    constants = dict(constants or {})
    names = [*columns, *constants]
    size = len(next(iter(columns.values()), ()))
    if not size:
        return
    if any(isinstance(table.c[name].type, JSON) for name in names):
        raise ValueError(f"insert_new does not convert JSON columns ({table.name})")
    connection = await session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql":
        per_row = [_copy_values(values) for values in columns.values()]
        fixed = [repeat(_copy_values([v])[0], size) for v in constants.values()]
        await copy_records(connection, table.name, names, zip(*per_row, *fixed, strict=False))
        return
    # A list given for two columns of one type (a signup that is also the subscription's
    # start) is converted once.
    converted: dict[tuple[int, type], list[Any]] = {}
    for name, values in columns.items():
        key = (id(values), type(table.c[name].type))
        if key not in converted:
            converted[key] = sqlite_values(table, dialect, name, values)
    stored = [converted[(id(v), type(table.c[n].type))] for n, v in columns.items()]
    fixed = [repeat(sqlite_values(table, dialect, n, [v])[0], size) for n, v in constants.items()]
    await connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({', '.join(map(_quoted, names))}) "
        f"VALUES ({', '.join('?' * len(names))})",
        list(zip(*stored, *fixed, strict=False)),
    )


async def update_columns(
    session: AsyncSession, table: Table, *, key: str, columns: Mapping[str, Sequence[Any]]
) -> None:
    """Set, in each row of ``table`` whose ``key`` is one of ``columns[key]``, the other
    ``columns`` to that row's values (rows given in key order are updated, and so locked,
    in that order)."""
    names = [name for name in columns if name != key]
    if not names or not columns[key]:
        return
    if any(isinstance(table.c[name].type, JSON) for name in columns):
        raise ValueError(f"update_columns does not convert JSON columns ({table.name})")
    connection = await session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql":
        ordered = [key, *names]
        # Parameters named apart from the columns (an UPDATE reserves the columns' names).
        arrays = [bindparam(f"v_{n}", type_=postgresql.ARRAY(table.c[n].type)) for n in ordered]
        rows = func.unnest(*arrays).table_valued(*ordered).render_derived()
        statement = (
            update(table)
            .where(table.c[key] == rows.c[key])
            .values({name: rows.c[name] for name in names})
        )
        await connection.execute(statement, {f"v_{n}": list(columns[n]) for n in ordered})
        return
    stored = [sqlite_values(table, dialect, n, columns[n]) for n in [*names, key]]
    await connection.exec_driver_sql(
        f"UPDATE {table.name} SET {', '.join(f'{_quoted(n)} = ?' for n in names)} "
        f"WHERE {_quoted(key)} = ?",
        list(zip(*stored, strict=True)),
    )
