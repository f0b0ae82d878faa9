"""API keys: issue, authenticate, authorise.

Keys are 256-bit random secrets, so a plain SHA-256 is the right storage (a slow KDF is for
human passwords); the secret is shown once, at creation, and never stored.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access.models import ApiKey
from wedsync_success.kit.errors import Forbidden, NotFound, Unauthorized, ValidationFailed

KEY_PREFIX = "wss_"


class Scope(enum.StrEnum):
    INGEST = "ingest"
    READ = "read"
    ACT = "act"
    """Act on suppliers: send one-off messages, manage the success team's tasks."""
    INAPP = "inapp"  # the suppliers' WedSync app: fetch and mark its users' in-app messages
    ADMIN = "admin"


@dataclass(frozen=True)
class IssuedKey:
    id: uuid.UUID
    name: str
    scopes: list[str]
    secret: str


def hash_secret(secret: str) -> str:
    """How a key's secret is stored and looked up."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(values: Iterable[str]) -> list[str]:
    """Validate scope names, naming the bad one."""
    scopes = []
    for value in values:
        try:
            scopes.append(Scope(value.strip()).value)
        except ValueError:
            raise ValidationFailed(
                f"Unknown scope {value!r}",
                details=[{"field": "scope", "reason": f"must be one of {', '.join(Scope)}"}],
            ) from None
    if not scopes:
        raise ValidationFailed(
            "An API key needs at least one scope",
            details=[{"field": "scope", "reason": "at least one is required"}],
        )
    return sorted(set(scopes))


async def create_key(
    *, session: AsyncSession, name: str, scopes: Sequence[str], now: datetime
) -> IssuedKey:
    """Issue a key; the returned secret is the only copy."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=uuid.uuid4(),
        name=name,
        prefix=secret[:12],
        key_hash=hash_secret(secret),
        scopes=parse_scopes(scopes),
        created_at=now,
    )
    session.add(key)
    await session.flush()
    return IssuedKey(id=key.id, name=name, scopes=list(key.scopes), secret=secret)


async def authenticate(*, session: AsyncSession, secret: str | None) -> ApiKey:
    """The live key matching ``secret``."""
    if not secret:
        raise Unauthorized("Missing API key: send it as 'Authorization: Bearer <key>'")
    key = await session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(secret)))
    if key is None or key.revoked_at is not None:
        raise Unauthorized("Invalid or revoked API key")
    return key


class _Scoped(Protocol):
    @property
    def scopes(self) -> Sequence[str]: ...


def authorise(key: _Scoped, scope: Scope) -> None:
    """Raise unless ``key`` carries ``scope`` (admin carries every scope)."""
    if scope.value not in key.scopes and Scope.ADMIN.value not in key.scopes:
        raise Forbidden(
            f"This API key lacks the '{scope.value}' scope",
            details=[{"field": "scope", "reason": f"'{scope.value}' required"}],
        )


async def list_keys(*, session: AsyncSession) -> Sequence[ApiKey]:
    return (await session.scalars(select(ApiKey).order_by(ApiKey.created_at))).all()


async def revoke_key(*, session: AsyncSession, key_id: uuid.UUID, now: datetime) -> None:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No API key with id {key_id}")
    key.revoked_at = now
