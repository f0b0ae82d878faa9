"""Short-lived signed tokens that let the in-app widget act for one supplier user.

The supplier's own WedSync backend mints one (with the shared secret key) when it renders a
page for a signed-in user; the widget sends it as ``Authorization: Bearer <token>``. It is
not a cookie, so no other site can make a browser send it (no CSRF), and cross-origin
requests need no credentials mode. The signature carries the signing time; the clock is
injected so expiry is tested without waiting.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from wedsync_success.kit.errors import Unauthorized

SCOPE = "widget"
SALT = "wedsync-success.widget-token"
TOKEN_SECONDS = 3600
"""How long a token is accepted after it was minted."""
MAX_TOKEN_CHARS = 1000


class _ClockSigner(TimestampSigner):
    """A timestamp signer that reads the injected clock instead of the wall clock."""

    def __init__(self, *args: Any, now: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now

    def get_timestamp(self) -> int:
        return int(self.now.timestamp())


def _serializer(secret_key: str, now: datetime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        secret_key, salt=SALT, signer=_ClockSigner, signer_kwargs={"now": now}
    )


def mint(*, secret_key: str, supplier_user_id: uuid.UUID, now: datetime) -> str:
    """A token for ``supplier_user_id``, valid for :data:`TOKEN_SECONDS` from ``now``."""
    return _serializer(secret_key, now).dumps({"scope": SCOPE, "sub": str(supplier_user_id)})


def verify(
    *, secret_key: str, token: str | None, now: datetime, max_age: int = TOKEN_SECONDS
) -> uuid.UUID:
    """The supplier user a live widget token was minted for; Unauthorized otherwise."""
    if not token:
        raise Unauthorized("Missing widget token: send it as 'Authorization: Bearer <token>'")
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthorized("Invalid widget token")
    try:
        claims = _serializer(secret_key, now).loads(token, max_age=max_age)
    except SignatureExpired:
        raise Unauthorized("The widget token has expired; mint a new one") from None
    except BadSignature:
        raise Unauthorized("Invalid widget token") from None
    if not isinstance(claims, dict) or claims.get("scope") != SCOPE:
        raise Unauthorized("Not a widget token")
    try:
        return uuid.UUID(str(claims.get("sub")))
    except ValueError:
        raise Unauthorized("Invalid widget token") from None
