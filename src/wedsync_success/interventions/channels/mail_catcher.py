"""A local SMTP server that keeps every message it accepts as a ``.eml`` file in a folder.

The demo runs one (when no ``WEDSYNC_SMTP_URL`` is set) so the playbooks' emails really go
through SMTP and can be opened in any mail client, while nothing leaves the machine.
"""

from __future__ import annotations

import itertools
import logging
import re
import socket
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

_UNSAFE = re.compile(r"[^A-Za-z0-9@._-]+")


class MailFolder:
    """An aiosmtpd handler writing each accepted message to ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._numbers = itertools.count(1)

    async def handle_DATA(  # noqa: N802 - the name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        rcpt = _UNSAFE.sub("_", envelope.rcpt_tos[0] if envelope.rcpt_tos else "unknown")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{stamp}-{next(self._numbers):05d}-{rcpt[:80]}.eml"
        path.write_bytes(content)
        return "250 Message kept"


def start_mail_catcher(folder: Path, *, host: str = "127.0.0.1", port: int = 0) -> Controller:
    """Serve SMTP on ``host:port`` (0: a port free now) in a thread; ``controller.port``
    says where. Stop it with ``controller.stop()``."""
    if port == 0:
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    controller = Controller(MailFolder(folder), hostname=host, port=port)
    controller.start()
    return controller
