"""The Standard Webhooks scheme, shared by the playbook webhook channel and outbound webhooks.

Headers: ``webhook-id`` (the message's idempotency key), ``webhook-timestamp`` (Unix
seconds) and ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed
with a ``whsec_``-prefixed base64 secret. During a secret rotation the header carries one
signature per live secret, space-separated (``v1,<new> v1,<old>``): a receiver that knows
either secret verifies. The HMAC itself is the standardwebhooks library's.
"""

from __future__ import annotations

import base64
import binascii
import math
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks import Webhook

from wedsync_success.kit.errors import ConfigError

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
"""The scheme recommends secrets of 24 to 64 bytes; a shorter one is refused."""
NEW_SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh ``whsec_`` secret: 32 random bytes, base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(NEW_SECRET_BYTES)).decode()


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


def signature_headers(
    *, signers: Sequence[Webhook], msg_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` sent as ``msg_id`` at ``timestamp``,
    signed with every signer (newest first)."""
    if not signers:
        raise ValueError("at least one signer is needed")
    instant = timestamp.astimezone(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(math.floor(instant.timestamp())),
        "webhook-signature": " ".join(
            signer.sign(msg_id=msg_id, timestamp=instant, data=body) for signer in signers
        ),
    }
