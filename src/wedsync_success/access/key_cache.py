"""API keys authenticated once and then trusted for a few seconds, in this process.

Every API request used to look its key up in ``api_keys``: on the hot reads that lookup was a
round trip as long as the read itself. A key found live is now kept in memory for
``WEDSYNC_API_KEY_CACHE_SECONDS`` (5 s by default), keyed by the SHA-256 of its secret (the
secret itself is never kept). A key revoked (``apikey revoke``, run in its own process) stops
working within the TTL: when its entry expires, the next request reads the row again and is
refused. Unknown and revoked secrets are never cached: each such request reads the table.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access.service import authenticate, hash_secret
from wedsync_success.kit.clock import Clock

MAX_CACHED_KEYS = 10_000
"""Past this many live keys the oldest entry is dropped (a deployment has a handful)."""


@dataclass(frozen=True)
class KeyGrant:
    """What a request may do: the authenticated key's id, name and scopes."""

    id: uuid.UUID
    name: str
    scopes: tuple[str, ...]


class ApiKeyCache:
    """Live keys by secret hash, each trusted until ``ttl_seconds`` after it was read."""

    def __init__(self, *, ttl_seconds: float, clock: Clock) -> None:
        self.ttl = timedelta(seconds=ttl_seconds)
        self._clock = clock
        self._entries: dict[str, tuple[KeyGrant, datetime]] = {}

    async def authenticate(self, *, session: AsyncSession, secret: str | None) -> KeyGrant:
        """The live key matching ``secret``, from memory while its entry is fresh."""
        digest = hash_secret(secret) if secret else None
        now = self._clock()
        if digest is not None and (hit := self._entries.get(digest)) and hit[1] > now:
            return hit[0]
        key = await authenticate(session=session, secret=secret)
        grant = KeyGrant(id=key.id, name=key.name, scopes=tuple(key.scopes))
        if digest is not None and self.ttl > timedelta(0):
            self._entries.pop(digest, None)  # re-inserted last: the dict stays oldest-first
            self._entries[digest] = (grant, now + self.ttl)
            if len(self._entries) > MAX_CACHED_KEYS:
                del self._entries[next(iter(self._entries))]
        return grant
