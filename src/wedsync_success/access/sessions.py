"""Server-side dashboard sessions: revocable, with idle and absolute lifetimes.

The browser's (signed) cookie carries a random token and the time the session was last
used; the ``team_sessions`` row, keyed by the token's SHA-256, is what makes it valid. Logout,
a password change and disabling an account delete rows, so a copied cookie dies with them.
The idle lifetime is checked against the last-use time in the signed cookie, so reading a
page writes nothing; the absolute lifetime against the row's creation time.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access import repository
from wedsync_success.access.models import TeamUser
from wedsync_success.access.team import get_user


@dataclass(frozen=True)
class SessionLifetimes:
    idle: timedelta
    absolute: timedelta


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(
    *, session: AsyncSession, user_id: uuid.UUID, lifetimes: SessionLifetimes, now: datetime
) -> str:
    """A new session for ``user_id``; the returned token is the only copy (for the cookie)."""
    await repository.delete_expired_sessions(session, created_before=now - lifetimes.absolute)
    token = secrets.token_urlsafe(32)
    await repository.add_session(session, token_hash=_hash(token), user_id=user_id, now=now)
    return token


async def resume_session(
    *,
    session: AsyncSession,
    token: str,
    last_used: datetime,
    lifetimes: SessionLifetimes,
    now: datetime,
) -> TeamUser | None:
    """The enabled user of a live session, or None when it ended, expired or never existed."""
    if now - last_used >= lifetimes.idle:
        return None
    row = await repository.get_session(session, _hash(token))
    if row is None or now - row.created_at >= lifetimes.absolute:
        return None
    return await get_user(session=session, user_id=row.user_id)


async def end_session(*, session: AsyncSession, token: str) -> None:
    await repository.delete_session(session, _hash(token))
