"""Engine and session factory for the configured database URL.

SQLite transactions are begun by this module, not by the driver. pysqlite's legacy mode
opens a *deferred* transaction at the first write; in WAL mode a transaction that read
before it writes then fails at once with SQLITE_BUSY (no busy wait) when another writer
committed in between. So the driver is put in autocommit (``isolation_level = None``) and
every transaction is started here, as SQLAlchemy documents for aiosqlite: ``BEGIN`` for a
read, ``BEGIN IMMEDIATE`` for a write unit of work, which takes the database's write lock up
front, waiting up to the busy timeout for the current writer to finish.

Within one process, SQLite writers also queue on an asyncio lock (:meth:`Database.writing`)
before they begin: they are then served in arrival order and the next one starts the moment
the last commits, instead of every waiter polling the file lock in SQLite's busy handler
(sleeps of up to 100 ms, no order), which left the lock idle between writers and let some
wait far longer than others. Waiters hold no pooled connection meanwhile. The busy timeout
still covers writers in other processes (a CLI import next to the server).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.util import await_

WRITE = "wedsync_write"
"""Connection execution option: this transaction writes (SQLite: ``BEGIN IMMEDIATE``)."""
ON_LOCK_WAIT = "wedsync_on_lock_wait"
"""Connection execution option: called when a SQLite write transaction could not take the
write lock at once and has to wait for it (the dispatcher counts this as contention)."""
BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for the write lock before giving up (by default)."""
SQLITE_BUSY = 5


@dataclass(frozen=True)
class Database:
    """An engine with its session factory; one per process."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    write_gate: asyncio.Lock | None = field(default=None, compare=False)
    """SQLite: this process's writers take turns here (see the module note)."""

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(
        self, *, on_lock_wait: Callable[[], None] | None = None
    ) -> AsyncIterator[AsyncSession]:
        """A write transaction that commits once at the end, or rolls back on any error.

        On SQLite it holds the write lock from its first statement (see the module note).
        """
        async with (
            self.writing(on_lock_wait=on_lock_wait),
            self.sessions() as session,
            session.begin(),
        ):
            await begin_write(session, on_lock_wait=on_lock_wait)
            yield session

    @asynccontextmanager
    async def writing(
        self, *, on_lock_wait: Callable[[], None] | None = None
    ) -> AsyncIterator[None]:
        """This process's turn to write (SQLite; nothing to wait for on PostgreSQL). Not
        re-entrant: a write transaction must not open another one in the same task."""
        if self.write_gate is None:
            yield
            return
        if on_lock_wait is not None and self.write_gate.locked():
            on_lock_wait()
        async with self.write_gate:
            yield

    async def refresh_statistics(self) -> None:
        """Update the planner's statistics after a bulk load.

        PostgreSQL's autovacuum does this by itself; SQLite has no statistics until ANALYZE
        runs, and without them it picks poor plans for the scoring aggregate.
        """
        if self.dialect == "sqlite":
            async with self.engine.begin() as conn:
                await conn.exec_driver_sql("ANALYZE")

    async def refresh_plans(self, tables: Sequence[str] = (), *, quick: bool = False) -> None:
        """Let PostgreSQL re-plan the statements a bulk load repeats, as its tables grow.

        asyncpg prepares each statement, and after five runs PostgreSQL keeps a generic plan
        made from the statistics of that moment; a table that was empty then is scanned in
        full for every batch after (an import of 100,000 suppliers fell from 4,200 rows/s at
        20,000 to 360 rows/s). ``ANALYZE`` records the new sizes and invalidates those plans;
        autovacuum may not get to it within an import. SQLite plans each statement afresh and
        its ANALYZE reads whole tables, so nothing is done there. ``tables``: only those
        (the ones a load grows; a whole-database ANALYZE samples every table, events too).
        ``quick``: from a tenth of the usual sample (``default_statistics_target`` 10: 3,000
        rows), enough to record the sizes and re-plan while a load goes on, not the
        statistics to keep once it is done (a fifth of the time of a full one).
        """
        if self.dialect == "postgresql":
            names = ", ".join(f'"{name}"' for name in tables)
            async with self.engine.begin() as conn:
                if quick:
                    await conn.exec_driver_sql("SET LOCAL default_statistics_target = 10")
                await conn.exec_driver_sql(f"ANALYZE {names}".rstrip())

    async def dispose(self) -> None:
        await self.engine.dispose()


async def begin_write(
    session: AsyncSession, *, on_lock_wait: Callable[[], None] | None = None
) -> None:
    """Start ``session``'s transaction as a write (call first, before any statement)."""
    options: dict[str, Any] = {WRITE: True}
    if on_lock_wait is not None:
        options[ON_LOCK_WAIT] = on_lock_wait
    await session.connection(execution_options=options)


def _is_busy(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF == SQLITE_BUSY


def _sqlite_hooks(busy_timeout_ms: int) -> tuple[Any, Any]:
    """The connect and begin listeners of a SQLite engine."""

    def connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see the module note)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        # 64 MiB of page cache (allocated as used) instead of 2 MiB: bulk loads and full
        # rescoring touch every index page; with the default, loading the demo's 800K events
        # took twice as long.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    def begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if not options.get(WRITE):
            conn.exec_driver_sql("BEGIN")
            return
        on_wait = options.get(ON_LOCK_WAIT)
        if on_wait is None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        # Try without waiting first, only to know whether someone else holds the lock.
        conn.exec_driver_sql("PRAGMA busy_timeout=0")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError as exc:
            if not _is_busy(exc):
                raise
            on_wait()
            conn.exec_driver_sql(f"PRAGMA busy_timeout={busy_timeout_ms}")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={busy_timeout_ms}")

    return connect, begin


def _ping_asyncpg(
    _dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
) -> None:
    """Check a pooled asyncpg connection is alive before handing it out, in one round trip.

    SQLAlchemy's ``pool_pre_ping`` pings asyncpg with ``BEGIN; ; ROLLBACK`` (three round
    trips, for pgbouncer's transaction mode, which is not used here) on every checkout, so
    every transaction paid three round trips before its first statement: on the event bus
    six of its eleven database round trips from commit to consumer. A dead connection is
    reported as SQLAlchemy's ``DisconnectionError``, so the pool replaces it and checks out
    again, exactly as with ``pool_pre_ping``.
    """
    driver = record.driver_connection
    if driver is None:
        raise DisconnectionError("pooled connection has no driver connection")
    try:
        await_(driver.fetchrow(";"))
    except Exception as exc:
        raise DisconnectionError(f"pooled connection is dead: {exc!r}") from exc


POOL_SIZE, MAX_OVERFLOW = 20, 10
"""The pool when the caller names none (``WEDSYNC_DATABASE_POOL_SIZE`` / ``_MAX_OVERFLOW``)."""


def create_database(
    url: str,
    *,
    sqlite_busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    pool_size: int = POOL_SIZE,
    max_overflow: int = MAX_OVERFLOW,
    **engine_kwargs: Any,
) -> Database:
    """Build the engine for ``url``; SQLite files get WAL mode and their folder created.

    The pool (``pool_size`` kept, ``max_overflow`` more at a peak) is sized for the API's
    admission gates (``web.admission``): a request they let in always finds a connection.
    An in-memory SQLite database has one connection, whatever is asked.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine_kwargs.update(pool_size=pool_size, max_overflow=max_overflow)
        engine = create_async_engine(url, **engine_kwargs)
        connect, begin = _sqlite_hooks(sqlite_busy_timeout_ms)
        event.listen(engine.sync_engine, "connect", connect)
        event.listen(engine.sync_engine, "begin", begin)
    else:
        ping_once = parsed.get_driver_name() == "asyncpg" and "pool_pre_ping" not in engine_kwargs
        engine_kwargs.setdefault("pool_pre_ping", not ping_once)
        engine = create_async_engine(
            url, pool_size=pool_size, max_overflow=max_overflow, **engine_kwargs
        )
        if ping_once:
            event.listen(engine.sync_engine.pool, "checkout", _ping_asyncpg)
    return Database(
        engine=engine,
        sessions=async_sessionmaker(engine, expire_on_commit=False),
        write_gate=asyncio.Lock() if engine.dialect.name == "sqlite" else None,
    )
