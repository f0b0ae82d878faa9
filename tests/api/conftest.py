"""A real server (``wedsync-success serve`` in a subprocess) over a fresh database, once per
backend, for tests that talk HTTP to it from outside the process (Schemathesis)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET_KEY, postgres_database
from wedsync_success.access.service import create_key
from wedsync_success.config import Settings
from wedsync_success.context import build_context
from wedsync_success.db import migrate


@dataclass(frozen=True)
class Server:
    url: str
    admin_key: str
    backend: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    port = _free_port()
    env = {
        **os.environ,
        "WEDSYNC_DATABASE_URL": database_url,
        "WEDSYNC_SECRET_KEY": TEST_SECRET_KEY,
    }
    process = subprocess.Popen(  # noqa: ASYNC220 - started once per session, returns at once
        [sys.executable, "-m", "wedsync_success.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as http:
            while True:
                try:
                    if (await http.get(f"{url}/readyz", timeout=1)).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"the server did not start:\n{output}")
                await asyncio.sleep(0.2)
        yield Server(url=url, admin_key=admin_key, backend=backend)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
