"""The webhook channel: a signed JSON POST in the Standard Webhooks scheme.

Headers: ``webhook-id`` (the message's idempotency key), ``webhook-timestamp`` (Unix
seconds) and ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed
with the ``whsec_``-prefixed base64 secret; the signing is the standardwebhooks library's.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

from wedsync_success.interventions.channels.base import (
    Channel,
    OutgoingMessage,
    PermanentFailure,
    ReconcileOutcome,
    Reconciliation,
    SendResult,
    TemporaryFailure,
)
from wedsync_success.interventions.channels.http_rules import (
    excerpt,
    header_key,
    is_temporary_status,
)
from wedsync_success.kit.clock import Clock, utc_now
from wedsync_success.kit.errors import ConfigError

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
"""The scheme recommends secrets of 24 to 64 bytes; a shorter one is refused."""


def encode_payload(payload: dict[str, Any]) -> str:
    """The payload as compact JSON (ASCII, so any text encodes); not JSON → permanent failure."""
    try:
        return json.dumps(payload, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PermanentFailure(f"the webhook payload is not JSON: {exc}") from None


def signature_headers(
    *, signer: Webhook, msg_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` sent as ``msg_id`` at ``timestamp``."""
    instant = timestamp.astimezone(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(math.floor(instant.timestamp())),
        "webhook-signature": signer.sign(msg_id=msg_id, timestamp=instant, data=body),
    }


def webhook_signer(secret: str) -> Webhook:
    """The signer for a ``whsec_`` secret; a malformed secret is a configuration error."""
    reason = None
    if not secret.startswith(SECRET_PREFIX):
        reason = f"the secret must start with {SECRET_PREFIX}"
    else:
        encoded = secret[len(SECRET_PREFIX) :]
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            reason = "the secret is not base64 after its prefix"
        else:
            if len(key) >= MIN_SECRET_BYTES:
                return Webhook(secret)
            reason = f"the secret must decode to at least {MIN_SECRET_BYTES} bytes"
    raise ConfigError(f"webhook secret: {reason}", details=[{"field": "secret", "reason": reason}])


class WebhookAdapter:
    """POSTs ``message.payload`` to one URL, signed; receivers dedupe on ``webhook-id``."""

    channel = Channel.WEBHOOK

    def __init__(self, *, url: str, secret: str, timeout: float, clock: Clock = utc_now) -> None:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise ConfigError(
                "webhook url: must be an http(s) URL with a host",
                details=[{"field": "url", "reason": "must be an http(s) URL with a host"}],
            )
        self._url = url
        self._signer = webhook_signer(secret)
        self._clock = clock
        self._client = httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._client.aclose()

    async def __aenter__(self) -> WebhookAdapter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def send(self, message: OutgoingMessage) -> SendResult:
        """POST the signed payload; 2xx is delivered, 408/429/5xx and no answer are temporary."""
        msg_id = header_key(message.idempotency_key)
        body = encode_payload(message.payload)
        headers = {
            "content-type": "application/json",
            **signature_headers(
                signer=self._signer, msg_id=msg_id, timestamp=self._clock(), body=body
            ),
        }
        try:
            response = await self._client.post(self._url, content=body.encode(), headers=headers)
        except httpx.TransportError as exc:
            raise TemporaryFailure(f"webhook receiver unreachable: {type(exc).__name__}") from exc
        if response.is_success:
            return SendResult(provider_id=msg_id, detail={"status_code": response.status_code})
        reason = f"webhook receiver answered HTTP {response.status_code}: {excerpt(response.text)}"
        if is_temporary_status(response.status_code):
            raise TemporaryFailure(reason)
        raise PermanentFailure(reason)

    async def reconcile(self, message: OutgoingMessage) -> Reconciliation:
        """Always UNKNOWN: a receiver cannot be asked, and the scheme's contract is that it
        dedupes on ``webhook-id``, so sending again under the same key is safe."""
        return Reconciliation(ReconcileOutcome.UNKNOWN)
