"""INSERT ... ON CONFLICT for whichever backend the session is bound to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_insert(session: AsyncSession, model: Any) -> Any:
    """A Core ``insert`` of ``model``'s table with ``on_conflict_do_*`` for the session's backend.

    Built on the Table, not the mapped class: the ORM bulk path re-splices RETURNING rows
    batch by batch, which grows quadratically (minutes for 100K rows); Core does not.
    """
    return insert_for(session.get_bind().dialect.name, model)


def insert_for(name: str, model: Any) -> Any:
    """:func:`dialect_insert` for the backend named ``name``: for statements built once, before
    any session."""
    table: Table = model if isinstance(model, Table) else model.__table__
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert support for {name}")
