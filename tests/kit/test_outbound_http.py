"""The one outbound client and POST of webhooks and marketing, against a real server on
127.0.0.1: redirects are not followed, the caller is named, a refused address is never
contacted, and an allowed one receives the request with its original Host."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from wedsync_success.kit.outbound_http import outbound_client, post_checked
from wedsync_success.kit.ssrf import UrlRefused


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests assert on what arrived."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.seen.append((self.path, headers, self.rfile.read(length)))
        if self.path == "/moved":
            self.send_response(307)
            self.send_header("Location", "/elsewhere")
        else:
            self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, dict[str, str], bytes]] = []


@contextmanager
def server() -> Iterator[_Server]:
    running = _Server()
    thread = threading.Thread(target=running.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield running
    finally:
        running.shutdown()
        running.server_close()
        thread.join()


async def test_an_allowed_private_address_is_posted_to_without_following_redirects() -> None:
    with server() as srv:
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        async with outbound_client(timeout=5, max_connections=2, user_agent="Probe/1") as http:
            ok = await post_checked(
                http,
                f"{base}/hook",
                content=b'{"a":1}',
                headers={"content-type": "application/json"},
                allow_private=True,
                field="url",
            )
            moved = await post_checked(
                http, f"{base}/moved", content=b"{}", headers={}, allow_private=True, field="url"
            )
    assert ok.status_code == 204
    assert moved.status_code == 307  # answered as is: a redirect could lead anywhere
    assert [path for path, _, _ in srv.seen] == ["/hook", "/moved"]
    _, headers, body = srv.seen[0]
    assert body == b'{"a":1}'
    assert headers["user-agent"] == "Probe/1"
    assert headers["host"] == f"127.0.0.1:{srv.server_address[1]}"


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "[::ffff:127.0.0.1]", "localhost"])
async def test_a_refused_address_is_never_contacted(host: str) -> None:
    with server() as srv:
        url = f"http://{host}:{srv.server_address[1]}/hook"
        async with outbound_client(timeout=5, max_connections=2, user_agent="Probe/1") as http:
            with pytest.raises(UrlRefused) as refused:
                await post_checked(
                    http, url, content=b"{}", headers={}, allow_private=False, field="the_url"
                )
    assert refused.value.details[0]["field"] == "the_url"
    assert "loopback" in refused.value.reason
    assert srv.seen == []
