"""A real webhook receiver on 127.0.0.1: verifies Standard Webhooks signatures with the
standardwebhooks library, and de-duplicates on ``webhook-id`` as receivers are asked to."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

TOLERANCE = timedelta(minutes=5)


class ClockedWebhook(Webhook):
    """The library's verification, with its timestamp check made against the test's clock
    (the library reads wall time; the tests move time by hand). Same tolerance, 5 minutes."""

    def __init__(self, secret: str, clock: Callable[[], datetime]) -> None:
        super().__init__(secret)
        self._clock = clock

    def _Webhook__verify_timestamp(self, timestamp_header: str) -> datetime:  # noqa: N802 - the library's private name
        try:
            timestamp = datetime.fromtimestamp(float(timestamp_header), tz=self._clock().tzinfo)
        except (ValueError, OverflowError):
            raise WebhookVerificationError("Invalid Signature Headers") from None
        if abs(timestamp - self._clock()) > TOLERANCE:
            raise WebhookVerificationError("Message timestamp outside the tolerance")
        return timestamp


@dataclass
class Request:
    headers: dict[str, str]
    body: bytes
    verified_by: list[str]
    """Which of the receiver's known secrets verified it on its own."""


@dataclass
class Receiver:
    secrets: list[str]
    clock: Callable[[], datetime]
    requests: list[Request] = field(default_factory=list)
    effects: list[Any] = field(default_factory=list)
    """Payloads acted on: once per ``webhook-id``."""
    seen_ids: set[str] = field(default_factory=set)
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    """Scripted answers, used up in order; then 204."""
    rejected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def per_id(self) -> Counter[str]:
        return Counter(r.headers["webhook-id"] for r in self.requests)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests assert on state."""

    def do_POST(self) -> None:
        state = self.server.state
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified_by = []
        payload = None
        for secret in state.secrets:
            try:
                payload = ClockedWebhook(secret, state.clock).verify(body, headers)
            except WebhookVerificationError:
                continue
            verified_by.append(secret)
        with state.lock:
            state.requests.append(Request(headers, body, verified_by))
            if not verified_by:
                state.rejected += 1
                status, extra = 401, {}
            else:
                status, extra = state.answers.pop(0) if state.answers else (204, {})
                msg_id = headers["webhook-id"]
                if 200 <= status < 300 and msg_id not in state.seen_ids:
                    state.seen_ids.add(msg_id)
                    state.effects.append(payload)
        data = b"" if status == 204 else b"answer from the receiver \x00\x1b[31m" + b"x" * 500
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if status != 204:
            self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, state: Receiver, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = state

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def receiver(clock: Callable[[], datetime], *secrets: str, port: int = 0) -> Iterator[Receiver]:
    """Serve a receiver knowing ``secrets`` on 127.0.0.1 (``port`` 0: a free one), whose
    notion of now is ``clock``."""
    state = Receiver(secrets=list(secrets), clock=clock)
    server = _Server(state, port)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
