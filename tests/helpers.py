"""Small steps many tests share, done through the public API."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_SECRET_KEY
from tests.factories import supplier


async def create_supplier(client: httpx.AsyncClient, **overrides: Any) -> str:
    body = supplier(**overrides)
    response = await client.post("/api/v1/suppliers", json={"suppliers": [body]})
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == 0, response.json()["errors"]
    return str(body["id"])


async def ingest(client: httpx.AsyncClient, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = await client.post("/api/v1/events", json={"events": events})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["rejected"] == 0, body["errors"]
    return body


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def served(
    database_url: str, *, env: Mapping[str, str] | None = None, start_timeout: float = 60
) -> AsyncIterator[str]:
    """`wedsync-success serve` in a subprocess on a free port, with the test secret key;
    yields its URL once `/readyz` answers, and stops it at the end."""
    port = free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 - a server per test session, returns at once
        [sys.executable, "-m", "wedsync_success.cli", "serve", "--port", str(port)],
        env={
            **os.environ,
            "WEDSYNC_DATABASE_URL": database_url,
            "WEDSYNC_SECRET_KEY": TEST_SECRET_KEY,
            **(env or {}),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        async with httpx.AsyncClient() as http:
            while True:
                try:
                    if (await http.get(f"{url}/readyz", timeout=1)).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()  # else reading its output below waits for it forever
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"the server did not start:\n{output}")
                await asyncio.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
