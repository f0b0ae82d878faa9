"""Fixtures for the channel tests; nothing they send may leave this machine."""

from __future__ import annotations

from ipaddress import ip_address

import httpx
import pytest


class OffMachine(AssertionError):
    """A test tried to reach a host other than the loopback."""


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every httpx request from these tests must go to 127.0.0.1 (or another loopback)."""
    real = httpx.AsyncHTTPTransport.handle_async_request

    async def guarded(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        if not _loopback(request.url.host):
            raise OffMachine(f"refused to send a request to {request.url.host}")
        return await real(self, request)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", guarded)
