"""A real SMTP server for tests (aiosmtpd on a free port) that keeps what it accepts, and a
Mailpit-shaped message search over what it holds (the email adapter's reconcile lookup)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Collection
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.helpers import free_port

HoldStage = Literal["rcpt", "data"]


class Collector:
    """An aiosmtpd handler keeping every envelope; it can refuse at RCPT or DATA.

    With ``hold_at`` the first transmission stops at that stage until :attr:`release` is set:
    at ``rcpt`` before anything is stored, at ``data`` after the message is stored but before
    the reply (the server has it, the client does not know). :attr:`holding` tells the test
    the transmission got there.
    """

    def __init__(
        self,
        *,
        rcpt_reply: str | None = None,
        data_reply: str | None = None,
        hold_at: HoldStage | None = None,
    ) -> None:
        self.envelopes: list[Envelope] = []
        self.rcpt_reply = rcpt_reply
        self.data_reply = data_reply
        self.hold_at = hold_at
        self.holding = threading.Event()
        self.release = threading.Event()

    async def _hold(self, stage: HoldStage) -> None:
        if self.hold_at == stage and not self.holding.is_set():
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 300)

    async def handle_RCPT(  # noqa: N802 - the name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        await self._hold("rcpt")
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - the name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.data_reply:
            return self.data_reply
        self.envelopes.append(envelope)
        await self._hold("data")
        return "250 Message accepted for delivery"

    def emails(self) -> list[EmailMessage]:
        parsed = []
        for envelope in list(self.envelopes):
            assert isinstance(envelope.content, bytes)
            content = envelope.content.replace(b"\r\n", b"\n")
            email = message_from_bytes(content, policy=policy.default)
            assert isinstance(email, EmailMessage)
            parsed.append(email)
        return parsed

    def only_email(self) -> EmailMessage:
        (email,) = self.emails()
        return email

    def message_ids(self) -> list[str]:
        """The Message-ID of every message stored, one per transmission, without ``<>``."""
        return [str(email["Message-ID"]).strip("<>") for email in self.emails()]


def smtp_server(handler: Collector, **options: Any) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    return controller


class MailStore:
    """A tiny HTTP server answering Mailpit's message search for the ids ``held()`` names."""

    def __init__(self, held: Callable[[], Collection[str]], *, status: int = 200) -> None:
        self.held, self.status, self.queries = held, status, list[str]()
        store = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)["query"][0]
                store.queries.append(query)
                found = (
                    url.path == "/api/v1/search"
                    and query.removeprefix("message-id:").strip('"') in store.held()
                )
                body = json.dumps({"total": 9, "messages_count": int(found), "messages": []})
                self.send_response(store.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> MailStore:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
