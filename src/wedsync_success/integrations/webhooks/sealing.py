"""Endpoint signing secrets sealed at rest (Fernet: AES-128-CBC with HMAC-SHA256).

Each sealing key is derived from a configured key with HKDF-SHA256 under its own ``info``
label, so the sealing key is never the session-signing key itself, and a database copied
without the application's keys yields no usable secret. A sealed value reads
``v1:<fernet token>``; the version names the derivation, so a later scheme can sit beside
this one. Secrets are opened only by the delivery worker, just before signing.

The keys are ``WEDSYNC_SEALING_KEYS`` (a list: the first seals, every one opens), or
``WEDSYNC_SECRET_KEY`` alone when that is unset, so sealing keys can be rolled without
ending dashboard sessions: list the new key first and the old one after it in every
process, run ``wedsync-success secrets rekey`` (:mod:`.rekey`), then drop the old one.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from wedsync_success.config import MIN_SECRET_KEY_LENGTH, Settings, require_secret_key
from wedsync_success.kit.errors import ConfigError

SEALED_PREFIX = "v1:"
HKDF_INFO = b"wedsync-success/webhook-endpoint-secrets/v1"
KEYS_SETTING = "WEDSYNC_SEALING_KEYS"
SECRET_KEY_SETTING = "WEDSYNC_SECRET_KEY"


class SecretKeyMismatch(ConfigError):
    """A sealed secret does not open with this process's keys: none of them is the one
    that sealed it (or the stored value was altered)."""

    code = "secret_key_mismatch"


def _fernet(key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
        key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def sealing_keys(settings: Settings) -> tuple[tuple[str, ...], str]:
    """The keys (first seals, all open) and the setting they came from; a short key is
    refused naming the setting and its place in the list."""
    if not settings.sealing_keys:
        return (require_secret_key(settings),), SECRET_KEY_SETTING
    keys = tuple(k.get_secret_value() for k in settings.sealing_keys)
    for i, key in enumerate(keys):
        if len(key) < MIN_SECRET_KEY_LENGTH:
            reason = f"key {i + 1} is only {len(key)} characters (at least {MIN_SECRET_KEY_LENGTH})"
            raise ConfigError(
                f"{KEYS_SETTING}: {reason}", details=[{"field": KEYS_SETTING, "reason": reason}]
            )
    return keys, KEYS_SETTING


class SecretSealer:
    """Seals endpoint signing secrets under the first of ``keys`` and opens them with any."""

    def __init__(self, *keys: str, setting: str = SECRET_KEY_SETTING) -> None:
        if not keys:
            raise ValueError("a sealer needs at least one key")
        self._first = _fernet(keys[0])
        self._all = MultiFernet([self._first, *(_fernet(k) for k in keys[1:])])
        self.setting = setting
        """Where the keys came from, named by errors."""

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretSealer:
        """The sealer of ``WEDSYNC_SEALING_KEYS``, else of ``WEDSYNC_SECRET_KEY`` (a clear
        error when a key is unset or short)."""
        keys, setting = sealing_keys(settings)
        return cls(*keys, setting=setting)

    def seal(self, secret: str) -> str:
        """The stored form of ``secret``: versioned, authenticated, never the secret itself."""
        return SEALED_PREFIX + self._first.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """The secret inside ``sealed``; :class:`SecretKeyMismatch` when no key can."""
        try:
            return self._all.decrypt(self._token(sealed)).decode()
        except InvalidToken:
            raise self._mismatch() from None

    def reseal(self, sealed: str) -> str | None:
        """``sealed`` sealed again under the first key, or None when it already is;
        :class:`SecretKeyMismatch` when no key opens it."""
        token = self._token(sealed)
        try:
            self._first.decrypt(token)
        except InvalidToken:
            pass
        else:
            return None
        try:
            return SEALED_PREFIX + self._all.rotate(token).decode()
        except InvalidToken:
            raise self._mismatch() from None

    def _token(self, sealed: str) -> bytes:
        if not sealed.startswith(SEALED_PREFIX):
            raise SecretKeyMismatch(
                "a webhook signing secret is not in its sealed form (v1:…); run "
                "`wedsync-success db upgrade` so the migration seals stored secrets",
                details=[{"field": "secret", "reason": "not sealed"}],
            )
        return sealed[len(SEALED_PREFIX) :].encode()

    def _mismatch(self) -> SecretKeyMismatch:
        if self.setting == KEYS_SETTING:
            which = f"any key of {KEYS_SETTING}"
            fix = (
                f"Add the key that sealed them to {KEYS_SETTING} (after the first), "
                "the same in every process."
            )
        else:
            which = f"this {SECRET_KEY_SETTING}"
            fix = (
                "Set the key the secrets were sealed with (the same in every process), or "
                f"list it in {KEYS_SETTING} after a new one and run `wedsync-success secrets "
                "rekey`."
            )
        return SecretKeyMismatch(
            f"a webhook signing secret cannot be opened with {which}: the key differs from "
            f"the one that sealed it. {fix}",
            details=[{"field": self.setting, "reason": "does not open the secret"}],
        )
