"""The demo's local SMTP server keeps what the email channel sends, as .eml files."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

from wedsync_success.interventions.channels.base import (
    Category,
    Channel,
    OutgoingMessage,
    Recipient,
)
from wedsync_success.interventions.channels.email import SmtpEmailAdapter
from wedsync_success.interventions.channels.mail_catcher import start_mail_catcher
from wedsync_success.interventions.channels.smtp_config import smtp_config_from_url


async def test_a_sent_email_lands_in_the_folder(tmp_path: Path) -> None:
    catcher = start_mail_catcher(tmp_path / "mail")
    try:
        adapter = SmtpEmailAdapter(
            smtp_config_from_url(f"smtp://127.0.0.1:{catcher.port}"),
            "WedSync <success@wedsync.example>",
        )
        result = await adapter.send(
            OutgoingMessage(
                idempotency_key="run:1:0",
                channel=Channel.EMAIL,
                category=Category.MARKETING,
                recipient=Recipient("s", "u", "Ada Fern", email="ada@bloom.example"),
                subject="Hello",
                text="Hi Ada",
                html="<p>Hi Ada</p>",
            )
        )
    finally:
        catcher.stop()
    (path,) = (tmp_path / "mail").iterdir()
    assert path.name.endswith("ada@bloom.example.eml")
    email = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert email["Message-ID"] == result.provider_id
    assert email["Subject"] == "Hello"
