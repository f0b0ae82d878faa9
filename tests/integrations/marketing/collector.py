"""A real Segment-compatible collector on 127.0.0.1: ``POST /v1/batch`` checks HTTP basic
auth on the write key, the spec's size limits and the shape of every message, and acts on
each ``messageId`` once (as Segment does); ``POST /hooks/…`` receives campaign webhooks,
de-duplicating on ``Idempotency-Key``."""

from __future__ import annotations

import base64
import json
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BATCH = 500 * 1024
MAX_MESSAGE = 32 * 1024


def problems(message: Any) -> list[str]:
    """What the Segment spec would refuse in one message of a batch."""
    if not isinstance(message, dict):
        return ["a message must be an object"]
    found = []
    if message.get("type") not in ("track", "identify"):
        found.append(f"unknown type {message.get('type')!r}")
    if not isinstance(message.get("messageId"), str) or not message["messageId"]:
        found.append("messageId missing")
    if not isinstance(message.get("userId"), str) or not message["userId"]:
        found.append("userId missing")
    try:
        if datetime.fromisoformat(message["timestamp"]).tzinfo is None:
            found.append("timestamp without a zone")
    except (KeyError, TypeError, ValueError):
        found.append("timestamp is not ISO 8601")
    if message.get("type") == "track":
        if not isinstance(message.get("event"), str) or not message["event"]:
            found.append("track without an event name")
        if not isinstance(message.get("properties"), dict):
            found.append("track properties must be an object")
    if message.get("type") == "identify" and not isinstance(message.get("traits"), dict):
        found.append("identify traits must be an object")
    if len(json.dumps(message, separators=(",", ":"))) > MAX_MESSAGE:
        found.append("message over 32 KB")
    return found


@dataclass
class Collector:
    write_key: str
    url: str = ""
    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    """Every batch accepted (with duplicates)."""
    effects: list[dict[str, Any]] = field(default_factory=list)
    """Messages acted on: once per ``messageId``."""
    hooks: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    """Campaign webhooks as received: headers and raw body."""
    hook_effects: list[dict[str, Any]] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    """Scripted answers, used up in order by every request; then 200."""
    refuse_event: str | None = None
    """A track event name the collector answers 400 for (in any batch carrying it)."""
    unauthorised: int = 0
    invalid: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _seen: set[str] = field(default_factory=set)
    _seen_hooks: set[str] = field(default_factory=set)

    def per_message_id(self) -> Counter[str]:
        return Counter(m["messageId"] for batch in self.batches for m in batch)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests assert on state."""

    def _answer(self, status: int, body: dict[str, Any], extra: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        state = self.server.state
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with state.lock:
            if state.answers:
                status, extra = state.answers.pop(0)
                if status >= 300:
                    self._answer(status, {"error": "scripted failure"}, extra)
                    return
            if self.path.startswith("/hooks/"):
                self._hook(state, raw)
            else:
                self._batch(state, raw)

    def _hook(self, state: Collector, raw: bytes) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = json.loads(raw)
        state.hooks.append((headers, raw))
        key = headers.get("idempotency-key", "")
        if key and key not in state._seen_hooks:
            state._seen_hooks.add(key)
            state.hook_effects.append(body)
        self._answer(200, {"ok": True}, {})

    def _batch(self, state: Collector, raw: bytes) -> None:
        expected = "Basic " + base64.b64encode(f"{state.write_key}:".encode()).decode()
        if self.path != "/v1/batch" or self.headers.get("Authorization") != expected:
            state.unauthorised += 1
            self._answer(401, {"error": "bad write key"}, {})
            return
        if len(raw) > MAX_BATCH:
            state.invalid.append("batch over 500 KB")
            self._answer(400, {"error": "batch over 500 KB"}, {})
            return
        body = json.loads(raw)
        messages = body.get("batch")
        found = (
            [p for m in messages for p in problems(m)]
            if isinstance(messages, list)
            else ["batch must be a list"]
        )
        if state.refuse_event and any(m.get("event") == state.refuse_event for m in messages):
            found.append(f"event {state.refuse_event!r} is blocked by a tracking plan")
        if found:
            state.invalid.extend(found)
            self._answer(400, {"error": "; ".join(found)}, {})
            return
        state.batches.append(messages)
        for message in messages:
            if message["messageId"] not in state._seen:
                state._seen.add(message["messageId"])
                state.effects.append(message)
        self._answer(200, {"success": True}, {})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, state: Collector, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = state

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def collector(write_key: str, *, port: int = 0) -> Iterator[Collector]:
    """Serve a collector accepting ``write_key`` on 127.0.0.1 (``port`` 0: a free one)."""
    state = Collector(write_key=write_key)
    server = _Server(state, port)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
