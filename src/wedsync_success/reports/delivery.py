"""Mailing a finished report: a short summary in the body, the report attached as HTML.

The report itself is attached rather than sent as the email's HTML part because mail
clients strip inline SVG (its charts) and ``<style>``; opened from the attachment it shows
and prints exactly as the file written by ``report monthly --out``.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from wedsync_success.interventions.channels.smtp_config import (
    Security,
    SmtpConfig,
    mail_from_address,
)
from wedsync_success.kit.emails import normalise
from wedsync_success.kit.errors import ServiceUnavailable, ValidationFailed

SMTP_TIMEOUT = 30.0
"""Seconds for each SMTP exchange."""


def recipients_of(value: str) -> list[str]:
    """Comma-separated addresses, each checked; the first bad one is named."""
    addresses = [part.strip() for part in value.split(",") if part.strip()]
    if not addresses:
        raise ValidationFailed(
            "--email names no address", details=[{"field": "email", "reason": "is empty"}]
        )
    checked = []
    for address in addresses:
        try:
            checked.append(normalise(address))
        except ValueError as exc:
            raise ValidationFailed(
                f"--email: {address!r} is not an email address",
                details=[{"field": "email", "reason": str(exc)}],
            ) from None
    return checked


def report_email(
    *,
    mail_from: str,
    recipients: Sequence[str],
    subject: str,
    summary: str,
    html: str,
    filename: str,
) -> EmailMessage:
    """The email carrying ``html`` as the attachment ``filename``."""
    sender = mail_from_address(mail_from)
    email = EmailMessage()
    email["From"] = sender
    email["To"] = ", ".join(recipients)
    email["Subject"] = subject
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = make_msgid(domain=sender.domain)
    email.set_content(summary + "\n\nThe full report, with its charts, is attached.\n")
    email.add_attachment(html, subtype="html", filename=filename)  # UTF-8, named as such
    return email


async def send_report(*, smtp: SmtpConfig, email: EmailMessage) -> None:
    """Hand ``email`` to the SMTP server; a refusal or an unreachable server is a
    :class:`ServiceUnavailable` saying which."""
    try:
        await aiosmtplib.send(
            email,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=smtp.password,
            use_tls=smtp.security is Security.TLS,
            start_tls=smtp.security is Security.STARTTLS,
            timeout=SMTP_TIMEOUT,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        raise ServiceUnavailable(
            f"the mail server {smtp.host}:{smtp.port} did not take the report ({reason})",
            details=[{"field": "WEDSYNC_SMTP_URL", "reason": reason}],
        ) from exc
