"""``/readyz`` answers 200 only when the database answers, and 503 when it does not."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET_KEY, FakeClock
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.web.app import create_app


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(params=["sqlite", "postgresql"])
async def unreachable(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[AppContext]:
    """A context whose database cannot be reached."""
    if request.param == "sqlite":
        directory = tmp_path / "wedsync.db"  # a directory where the database file should be
        directory.mkdir()
        url = f"sqlite+aiosqlite:///{directory}"
    else:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/wedsync"
    context = build_context(Settings(database_url=url, secret_key=TEST_SECRET_KEY), clock=clock)
    try:
        yield context
    finally:
        await context.close()


async def _readyz(context: AppContext) -> httpx.Response:
    app = create_app(context=context, run_dispatcher=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        return await http.get("/readyz")


async def test_ready_when_the_database_answers(ctx: AppContext) -> None:
    response = await _readyz(ctx)
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": ctx.db.dialect}


async def test_not_ready_when_the_database_is_unreachable(unreachable: AppContext) -> None:
    response = await _readyz(unreachable)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "not_ready"
    assert error["message"].startswith("Database unavailable")
