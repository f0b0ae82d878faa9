"""The webhook channel: a signed JSON POST in the Standard Webhooks scheme.

Headers: ``webhook-id`` (the message's idempotency key), ``webhook-timestamp`` (Unix
seconds) and ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed
with the ``whsec_``-prefixed base64 secret; the scheme lives in :mod:`kit.standard_webhooks`,
shared with outbound webhooks (:mod:`integrations.webhooks`). The target obeys the same SSRF
rules as they do (:mod:`kit.ssrf`): no loopback, link-local or private address unless
``WEDSYNC_OUTBOUND_ALLOW_PRIVATE`` allows it, checked at start and again, after resolving the
host, before every POST.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

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
from wedsync_success.kit.outbound_http import outbound_client, post_checked
from wedsync_success.kit.ssrf import UrlRefused, check_configured_url
from wedsync_success.kit.standard_webhooks import signature_headers, webhook_signer


def encode_payload(payload: dict[str, Any]) -> str:
    """The payload as compact JSON (ASCII, so any text encodes); not JSON → permanent failure."""
    try:
        return json.dumps(payload, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PermanentFailure(f"the webhook payload is not JSON: {exc}") from None


USER_AGENT = "WedSync-Success-Interventions/1"
MAX_CONNECTIONS = 10
"""Connections one target's adapter keeps open at most (the worker sends steps a few at a
time)."""


class WebhookAdapter:
    """POSTs ``message.payload`` to one URL, signed; receivers dedupe on ``webhook-id``."""

    channel = Channel.WEBHOOK

    def __init__(
        self,
        *,
        url: str,
        secret: str,
        timeout: float,
        allow_private: bool = False,
        field: str = "url",
        clock: Clock = utc_now,
    ) -> None:
        """``field`` names the URL's place in the configuration, for the errors."""
        try:
            check_configured_url(url, allow_private=allow_private, field=field)
        except UrlRefused as exc:
            raise ConfigError(f"webhook {field}: {exc.reason}", details=exc.details) from None
        self._url = url
        self._field = field
        self._allow_private = allow_private
        self._signer = webhook_signer(secret)
        self._clock = clock
        self._client = outbound_client(
            timeout=timeout, max_connections=MAX_CONNECTIONS, user_agent=USER_AGENT
        )

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
                signers=[self._signer], msg_id=msg_id, timestamp=self._clock(), body=body
            ),
        }
        try:
            response = await post_checked(
                self._client,
                self._url,
                content=body.encode(),
                headers=headers,
                allow_private=self._allow_private,
                field=self._field,
            )
        except UrlRefused as exc:
            raise PermanentFailure(f"webhook {self._field}: {exc.reason}") from None
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
