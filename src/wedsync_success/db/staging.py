"""Staging tables: where a bulk write lands before set-based SQL checks and merges it.

One lifetime rule for all of them: a staging table is a temporary table that lives with its
connection. The first use on a connection creates it (``IF NOT EXISTS``, so a creation
rolled back with its transaction is simply made again), and every use empties it before
filling it, so a batch never sees an earlier one's rows, whether that one committed, rolled
back, or ran earlier in the same transaction. It is never dropped: on PostgreSQL a
temporary table made and dropped by each transaction costs catalog writes at every commit.
On PostgreSQL it is also emptied at commit (``ON COMMIT DELETE ROWS``: a truncation in
place), so rows never linger in an idle pooled connection.

Filling: PostgreSQL streams the rows through ``COPY`` (binary, asyncpg's
``copy_records_to_table``, :func:`wedsync_success.db.plain_writes.copy_records`) on the
driver connection, inside the session's transaction;
SQLite binds them in C through the driver's ``executemany``, each value in the stored form
of the table it will be merged into (:func:`wedsync_success.db.bulk.stored_form`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from wedsync_success.db.bulk import stored_form
from wedsync_success.db.plain_writes import copy_records


@dataclass(frozen=True)
class StagingTable:
    """A staging table's shape: its columns with their SQL types on each backend."""

    name: str
    columns: Mapping[str, tuple[str, str]]
    """name -> (PostgreSQL type, SQLite type), in the table's column order."""
    index: tuple[str, ...] = ()
    """Columns of an index the checks and merge probe (none: they only scan it)."""

    def ddl(self, dialect: str) -> list[str]:
        """The statements that create the table (and its index) unless it exists."""
        which = 0 if dialect == "postgresql" else 1
        defined = ", ".join(f"{name} {types[which]}" for name, types in self.columns.items())
        on_commit = " ON COMMIT DELETE ROWS" if dialect == "postgresql" else ""
        statements = [f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.name} ({defined}){on_commit}"]
        if self.index:
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {self.name}_key ON {self.name} "
                f"({', '.join(self.index)})"
            )
        return statements


async def stage(
    session: AsyncSession,
    table: StagingTable,
    columns: Mapping[str, Sequence[Any]],
    *,
    stored_as: Table | None = None,
) -> None:
    """Replace the rows of ``table`` (on the session's connection, in its transaction) by
    the rows given as ``columns``: one sequence of values per column of ``table``.

    Values are what the driver takes: on PostgreSQL asyncpg's Python types (JSON as text);
    on SQLite the columns of ``table`` that ``stored_as`` also has are converted to that
    table's stored form, the others go as given."""
    connection = await session.connection()
    dialect = connection.dialect.name
    await prepare(connection, table)
    names = list(table.columns)
    if not columns[names[0]]:
        return  # emptied is all there is to do (an empty executemany would be an error)
    if dialect == "postgresql":
        records = zip(*(columns[name] for name in names), strict=True)
        await copy_records(connection, table.name, names, records)
        return
    values = [
        stored_form(stored_as, connection.dialect, name, columns[name])
        if stored_as is not None and name in stored_as.c
        else columns[name]
        for name in names
    ]
    await connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        list(zip(*values, strict=True)),
    )


async def prepare(connection: AsyncConnection, table: StagingTable) -> None:
    """Make sure ``table`` exists on ``connection``, and empty it."""
    for statement in table.ddl(connection.dialect.name):
        await connection.exec_driver_sql(statement)
    await connection.exec_driver_sql(f"DELETE FROM {table.name}")
