"""Endpoint signing secrets sealed at rest (Fernet: AES-128-CBC with HMAC-SHA256).

The key is derived from ``WEDSYNC_SECRET_KEY`` with HKDF-SHA256 under its own ``info``
label, so the sealing key is never the session-signing key itself, and a database copied
without the application's key yields no usable secret. A sealed value reads
``v1:<fernet token>``; the version names the derivation, so a later scheme can sit beside
this one. Secrets are opened only by the delivery worker, just before signing.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from wedsync_success.config import Settings, require_secret_key
from wedsync_success.kit.errors import ConfigError

SEALED_PREFIX = "v1:"
HKDF_INFO = b"wedsync-success/webhook-endpoint-secrets/v1"


class SecretKeyMismatch(ConfigError):
    """A sealed secret does not open with this process's key: ``WEDSYNC_SECRET_KEY``
    differs from the one that sealed it (or the stored value was altered)."""

    code = "secret_key_mismatch"


class SecretSealer:
    """Seals and opens endpoint signing secrets with a key derived from the app's key."""

    def __init__(self, secret_key: str) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
            secret_key.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretSealer:
        """The sealer for ``WEDSYNC_SECRET_KEY`` (a clear error when it is unset or short)."""
        return cls(require_secret_key(settings))

    def seal(self, secret: str) -> str:
        """The stored form of ``secret``: versioned, authenticated, never the secret itself."""
        return SEALED_PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """The secret inside ``sealed``; :class:`SecretKeyMismatch` when this key cannot."""
        if not sealed.startswith(SEALED_PREFIX):
            raise SecretKeyMismatch(
                "a webhook signing secret is not in its sealed form (v1:…); run "
                "`wedsync-success db upgrade` so the migration seals stored secrets",
                details=[{"field": "secret", "reason": "not sealed"}],
            )
        try:
            return self._fernet.decrypt(sealed[len(SEALED_PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SecretKeyMismatch(
                "a webhook signing secret cannot be opened with this WEDSYNC_SECRET_KEY: "
                "the key differs from the one that sealed it. Set the key the secrets "
                "were sealed with (the same in every process).",
                details=[{"field": "WEDSYNC_SECRET_KEY", "reason": "does not open the secret"}],
            ) from None
