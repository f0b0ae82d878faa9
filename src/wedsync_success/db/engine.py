"""Engine and session factory for the configured database URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry


@dataclass(frozen=True)
class Database:
    """An engine with its session factory; one per process."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits once at the end, or rolls back on any error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def refresh_statistics(self) -> None:
        """Update the planner's statistics after a bulk load.

        PostgreSQL's autovacuum does this by itself; SQLite has no statistics until ANALYZE
        runs, and without them it picks poor plans for the scoring aggregate.
        """
        if self.dialect == "sqlite":
            async with self.engine.begin() as conn:
                await conn.exec_driver_sql("ANALYZE")

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 64 MiB of page cache (allocated as used) instead of 2 MiB: bulk loads and full
    # rescoring touch every index page; with the default, loading the demo's 800K events
    # took twice as long.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def create_database(url: str, **engine_kwargs: Any) -> Database:
    """Build the engine for ``url``; SQLite files get WAL mode and their folder created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **engine_kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        engine_kwargs.setdefault("pool_size", 20)
        engine_kwargs.setdefault("max_overflow", 20)
        engine_kwargs.setdefault("pool_pre_ping", True)
        engine = create_async_engine(url, **engine_kwargs)
    return Database(engine=engine, sessions=async_sessionmaker(engine, expire_on_commit=False))
