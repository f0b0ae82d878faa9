"""A real webhook receiver on 127.0.0.1 that verifies Standard Webhooks signatures."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    payload: Any


@dataclass
class ReceiverState:
    secret: str
    deliveries: list[Delivery] = field(default_factory=list)
    rejected: int = 0
    status: int = 204
    """What a verified delivery is answered with."""
    hold: threading.Event | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests assert on state, not on the log."""

    def do_POST(self) -> None:
        state = self.server.state
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if state.hold is not None:
            state.hold.wait(timeout=10)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            payload = Webhook(state.secret).verify(body, headers)
        except WebhookVerificationError:
            with state.lock:
                state.rejected += 1
            self._answer(401, b"bad signature")
            return
        with state.lock:
            state.deliveries.append(Delivery(headers=headers, body=body, payload=payload))
        self._answer(state.status, b"" if state.status == 204 else b"answer")

    def _answer(self, status: int, data: bytes) -> None:
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if status != 204:
            self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: ReceiverState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timed out) is expected; anything else is reported."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def webhook_receiver(secret: str) -> Iterator[tuple[str, ReceiverState]]:
    """Serve a receiver on a free 127.0.0.1 port; yields its URL and its state."""
    state = ReceiverState(secret=secret)
    server = _Server(state)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks", state
    finally:
        if state.hold is not None:
            state.hold.set()
        server.shutdown()
        server.server_close()
        thread.join()
