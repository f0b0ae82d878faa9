"""The email channel: intervention messages out over SMTP (aiosmtplib).

Each message becomes a ``multipart/alternative`` email (text, then HTML with its CSS
inlined, since mail clients drop ``<style>``) whose ``Message-ID`` is derived from the
message's idempotency key alone, so a re-send after a crash carries the same Message-ID.

Failures are classified for the orchestrator: no connection, a timeout, a dropped
connection, a 4xx reply, failed authentication or TLS (fixing the configuration makes a later
try succeed) are :class:`TemporaryFailure`; a 5xx reply to the sender, the recipient or the
data is a :class:`PermanentFailure`.

Reconciliation: plain SMTP cannot be asked what it accepted. When the adapter is given a
``lookup_url`` of a Mailpit-compatible store (``GET {lookup_url}/api/v1/search?query=
message-id:"<id>"`` answering ``{"messages_count": n, ...}``), it answers DELIVERED (n > 0)
or NOT_SENT (n = 0); without one, or when the lookup fails, it answers UNKNOWN, and the
orchestrator sends again under the same Message-ID, which receiving mail stores collapse
into one message.
"""

from __future__ import annotations

import hashlib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

import aiosmtplib
import css_inline
import httpx
import structlog

from wedsync_success.interventions.channels.base import (
    Channel,
    OutgoingMessage,
    PermanentFailure,
    ReconcileOutcome,
    Reconciliation,
    SendResult,
    TemporaryFailure,
)
from wedsync_success.interventions.channels.smtp_config import (
    Security,
    SmtpConfig,
    mail_from_address,
)
from wedsync_success.kit.clock import Clock, utc_now

log = structlog.get_logger(__name__)

# Headers the adapter writes itself; a message's own headers may not replace them.
_OWN_HEADERS = frozenset(
    {"from", "to", "subject", "message-id", "date", "mime-version", "content-type"}
    | {"content-transfer-encoding", "sender", "cc", "bcc", "reply-to"}
)

_inliner = css_inline.CSSInliner(load_remote_stylesheets=False)


def message_id_for(idempotency_key: str, domain: str) -> str:
    """The Message-ID of the message with ``idempotency_key``: the same key, the same id."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def _smtp_failure(code: int, stage: str, text: str) -> TemporaryFailure | PermanentFailure:
    reason = f"SMTP {code} {stage}: {text}".rstrip(": ")
    return TemporaryFailure(reason) if code < 500 else PermanentFailure(reason)


class SmtpEmailAdapter:
    """Delivers email through one SMTP server."""

    channel = Channel.EMAIL

    def __init__(
        self,
        config: SmtpConfig,
        mail_from: str,
        *,
        timeout: float = 30.0,
        lookup_url: str | None = None,
        tls_context: ssl.SSLContext | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.config = config
        self.sender = mail_from_address(mail_from)
        self.timeout = timeout
        self.lookup_url = lookup_url.rstrip("/") if lookup_url else None
        self.tls_context = tls_context
        self.clock = clock

    def message_id(self, message: OutgoingMessage) -> str:
        """The Message-ID ``message`` is (or would be) sent under."""
        return message_id_for(message.idempotency_key, self.sender.domain)

    def build(self, message: OutgoingMessage) -> EmailMessage:
        """The email for ``message``; a message that cannot be an email is a PermanentFailure."""
        recipient = message.recipient
        if not recipient.email:
            raise PermanentFailure("the recipient has no email address")
        email = EmailMessage()
        try:
            email["From"] = self.sender
            email["To"] = formataddr((recipient.name, recipient.email))
            email["Subject"] = message.subject
            email["Message-ID"] = self.message_id(message)
            email["Date"] = format_datetime(self.clock())
            for name, value in message.headers.items():
                if name.lower() in _OWN_HEADERS:
                    raise PermanentFailure(f"header {name!r} is set by the email adapter")
                email[name] = value
        except (ValueError, TypeError, IndexError) as exc:
            raise PermanentFailure(f"the message cannot be an email: {exc}") from None
        email.set_content(message.text)
        if message.html is not None:
            email.add_alternative(_inliner.inline(message.html), subtype="html")
        return email

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Deliver ``message``; raise :class:`TemporaryFailure` or :class:`PermanentFailure`."""
        email = self.build(message)
        message_id = str(email["Message-ID"])
        config = self.config
        try:
            await aiosmtplib.send(
                email,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                use_tls=config.security is Security.TLS,
                start_tls=config.security is Security.STARTTLS,
                tls_context=self.tls_context,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            raise _smtp_failure(refused.code, "recipient refused", refused.message) from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise TemporaryFailure(
                f"SMTP authentication failed ({exc.code} {exc.message}): check the "
                "credentials in WEDSYNC_SMTP_URL"
            ) from exc
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError) as exc:
            raise TemporaryFailure(
                f"cannot reach the SMTP server {config.host}:{config.port}: {exc}"
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            stage = {
                aiosmtplib.SMTPSenderRefused: "sender refused",
                aiosmtplib.SMTPDataError: "message refused",
                aiosmtplib.SMTPHeloError: "greeting refused",
            }.get(type(exc), "reply")
            raise _smtp_failure(exc.code, stage, exc.message) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"SMTP send failed: {exc}") from exc
        return SendResult(provider_id=message_id)

    async def reconcile(self, message: OutgoingMessage) -> Reconciliation:
        """Ask the lookup store whether it holds ``message``'s Message-ID (UNKNOWN without one)."""
        if self.lookup_url is None:
            return Reconciliation(outcome=ReconcileOutcome.UNKNOWN)
        message_id = self.message_id(message)
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.get(
                    f"{self.lookup_url}/api/v1/search",
                    params={"query": f'message-id:"{message_id.strip("<>")}"'},
                )
            response.raise_for_status()
            count = response.json()["messages_count"]
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise ValueError(f"messages_count is {count!r}")
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.warning("email.reconcile_lookup_failed", message_id=message_id, error=str(exc))
            return Reconciliation(outcome=ReconcileOutcome.UNKNOWN)
        if count:
            return Reconciliation(outcome=ReconcileOutcome.DELIVERED, provider_id=message_id)
        return Reconciliation(outcome=ReconcileOutcome.NOT_SENT)
