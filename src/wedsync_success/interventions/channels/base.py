"""The one interface every outbound channel adapter implements.

The orchestrator decides *whether* a message goes out (caps, quiet hours, preferences,
holdout) and records the intent with its idempotency key before calling an adapter; an
adapter only delivers, and says how it went. Adapters never touch the database.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol


class Channel(enum.StrEnum):
    EMAIL = "email"
    IN_APP = "in_app"
    SMS = "sms"
    TASK = "task"
    WEBHOOK = "webhook"


class Category(enum.StrEnum):
    """Marketing-type messages count towards the frequency cap; transactional ones do not."""

    MARKETING = "marketing"
    TRANSACTIONAL = "transactional"


@dataclass(frozen=True)
class Recipient:
    """Who a message is for: one supplier user (email address and/or phone in E.164)."""

    supplier_id: str
    supplier_user_id: str | None
    name: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class OutgoingMessage:
    """A rendered message, ready for an adapter.

    ``idempotency_key`` is stable for one (run, step) — or one one-off send — and is what the
    provider sees (the email's Message-ID is derived from it; the SMS provider receives it as
    the ``Idempotency-Key`` header; webhooks send it as ``webhook-id``), so a retried or
    reconciled send can be recognised as the same message.
    """

    idempotency_key: str
    channel: Channel
    category: Category
    recipient: Recipient
    subject: str = ""
    text: str = ""
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    """The provider accepted the message; ``provider_id`` names it there (Message-ID, SID)."""

    provider_id: str
    detail: dict[str, Any] = field(default_factory=dict)


class DeliveryError(Exception):
    """A send failed; ``temporary`` says whether trying again later can succeed."""

    temporary: bool = True

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TemporaryFailure(DeliveryError):
    """Try again later (connection refused, 4xx SMTP reply, HTTP 429/5xx, timeout)."""

    temporary = True


class PermanentFailure(DeliveryError):
    """Trying again cannot succeed (5xx SMTP reply to the recipient, HTTP 4xx, bad number)."""

    temporary = False


class ReconcileOutcome(enum.StrEnum):
    """What an adapter can tell about a send whose result was never recorded (a crash)."""

    DELIVERED = "delivered"  # the provider has it: record it as sent, do not send again
    NOT_SENT = "not_sent"  # the provider never got it: sending now is safe
    UNKNOWN = "unknown"  # the provider cannot be asked: send again under the same key


@dataclass(frozen=True)
class Reconciliation:
    outcome: ReconcileOutcome
    provider_id: str | None = None


class ChannelAdapter(Protocol):
    """Delivers messages of one channel."""

    channel: Channel

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Deliver ``message``; raise :class:`TemporaryFailure` or :class:`PermanentFailure`."""
        ...

    async def reconcile(self, message: OutgoingMessage) -> Reconciliation:
        """After a crash between send and record: did the provider get ``message``?"""
        ...
