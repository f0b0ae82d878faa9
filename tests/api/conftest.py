"""A real server (``wedsync-success serve`` in a subprocess) over a fresh database, once per
backend, for tests that talk HTTP to it from outside the process (Schemathesis)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import postgres_database
from tests.helpers import served
from wedsync_success.access.service import create_key
from wedsync_success.config import Settings
from wedsync_success.context import build_context
from wedsync_success.db import migrate


@dataclass(frozen=True)
class Server:
    url: str
    admin_key: str
    backend: str


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def served_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """(backend, URL) of a migrated database of its own."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("served") / "served.db"
        url = f"sqlite+aiosqlite:///{path}"
        migrate.upgrade(url)
        yield "sqlite", url
    else:
        for url in postgres_database():
            yield "postgresql", url


async def _admin_key(database_url: str) -> str:
    ctx = build_context(Settings(database_url=database_url))
    try:
        async with ctx.db.transaction() as session:
            issued = await create_key(
                session=session, name="schemathesis", scopes=["admin"], now=ctx.clock()
            )
        return issued.secret
    finally:
        await ctx.close()


@pytest.fixture(scope="session")
async def server(served_database: tuple[str, str]) -> AsyncIterator[Server]:
    backend, database_url = served_database
    admin_key = await _admin_key(database_url)
    async with served(database_url) as url:
        yield Server(url=url, admin_key=admin_key, backend=backend)
