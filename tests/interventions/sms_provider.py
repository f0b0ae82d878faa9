"""A small real SMS provider speaking Twilio's Messages API, on 127.0.0.1, for the tests.

Unlike Twilio it honours ``Idempotency-Key`` (a repeated key returns the message it
created) and lists each message with the ``idempotency_key`` it was created under.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

E164 = re.compile(r"\+[1-9][0-9]{1,14}")


@dataclass
class StoredMessage:
    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    idempotency_key: str | None

    def resource(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "to": self.to,
            "from": self.from_,
            "body": self.body,
            "status": "queued",
            "idempotency_key": self.idempotency_key,
        }


@dataclass
class ProviderState:
    account_sid: str
    auth_token: str
    messages: list[StoredMessage] = field(default_factory=list)
    posts: int = 0
    fail_next: list[tuple[int, dict[str, Any] | str]] = field(default_factory=list)
    """Answers the next POSTs give instead of creating a message (status, JSON or text body)."""
    list_status: int = 200
    page_size: int = 50
    omit_keys: bool = False
    """List messages without ``idempotency_key``, as Twilio itself does."""
    hold: threading.Event | None = None
    """When set, requests wait for this event before answering (to make a client time out)."""
    hold_answer: threading.Event | None = None
    """When set, a POST that creates a message stores it, then waits for this event before
    answering: the provider has the message, the client does not know yet."""
    answered: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    """Released once each POST has been handled, whether or not its answer reached the client."""
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests assert on state, not on the log."""

    def _answer(self, status: int, body: dict[str, Any] | str) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header(
            "Content-Type", "text/plain" if isinstance(body, str) else "application/json"
        )
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        state = self.server.state
        expected = base64.b64encode(f"{state.account_sid}:{state.auth_token}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
            return False
        return True

    def _messages_path(self) -> bool:
        path = urlsplit(self.path).path
        if path != f"/2010-04-01/Accounts/{self.server.state.account_sid}/Messages.json":
            self._answer(404, {"code": 20404, "message": "Not found", "status": 404})
            return False
        return True

    def _wait(self) -> None:
        hold = self.server.state.hold
        if hold is not None:
            hold.wait(timeout=10)

    def do_POST(self) -> None:
        try:
            self._post()
        finally:
            self.server.state.answered.release()

    def _post(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self._wait()
        if not (self._authorised() and self._messages_path()):
            return
        with state.lock:
            state.posts += 1
            if state.fail_next:
                self._answer(*state.fail_next.pop(0))
                return
            to = form.get("To", "")
            if E164.fullmatch(to) is None:
                message = f"The 'To' number {to} is not a valid phone number."
                self._answer(400, {"code": 21211, "message": message, "status": 400})
                return
            key = self.headers.get("Idempotency-Key")
            for stored in state.messages:
                if key is not None and stored.idempotency_key == key:
                    self._answer(201, stored.resource())
                    return
            stored = StoredMessage(
                sid="SM" + uuid.uuid4().hex,
                to=to,
                from_=form.get("From", ""),
                body=form.get("Body", ""),
                status_callback=form.get("StatusCallback"),
                idempotency_key=key,
            )
            state.messages.append(stored)
        if state.hold_answer is not None:
            state.hold_answer.wait(timeout=300)
        self._answer(201, stored.resource())

    def do_GET(self) -> None:
        state = self.server.state
        self._wait()
        if not (self._authorised() and self._messages_path()):
            return
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        with state.lock:
            if state.list_status != 200:
                self._answer(state.list_status, {"code": 20500, "message": "Unavailable"})
                return
            matching = [
                m.resource()
                for m in state.messages
                if m.to == query.get("To", m.to) and m.from_ == query.get("From", m.from_)
            ]
        if state.omit_keys:
            for resource in matching:
                del resource["idempotency_key"]
        page = int(query.get("Page", "0"))
        start = page * state.page_size
        listed = matching[start : start + state.page_size]
        next_uri = None
        if start + state.page_size < len(matching):
            rest = {**query, "Page": str(page + 1)}
            next_uri = f"{urlsplit(self.path).path}?{urlencode(rest)}"
        self._answer(200, {"messages": listed, "next_page_uri": next_uri, "page": page})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: ProviderState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timed out) is expected; anything else is reported."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def sms_provider(account_sid: str, auth_token: str) -> Iterator[tuple[str, ProviderState]]:
    """Serve a provider on a free 127.0.0.1 port; yields its base URL and its state."""
    state = ProviderState(account_sid=account_sid, auth_token=auth_token)
    server = _Server(state)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        for event in (state.hold, state.hold_answer):
            if event is not None:
                event.set()
        server.shutdown()
        server.server_close()
        thread.join()
