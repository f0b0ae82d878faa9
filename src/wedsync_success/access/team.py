"""Success-team accounts for the dashboard: passwords hashed with Argon2id."""

from __future__ import annotations

import uuid
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access.models import TeamUser
from wedsync_success.kit.errors import Unauthorized, ValidationFailed

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 10


async def create_user(
    *, session: AsyncSession, email: str, name: str, password: str, now: datetime
) -> TeamUser:
    """Create a team account; the email is case-insensitive and unique."""
    email = email.strip().lower()
    problems = []
    if "@" not in email or len(email) > 320:
        problems.append({"field": "email", "reason": "not an email address"})
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(
            {"field": "password", "reason": f"at least {MIN_PASSWORD_LENGTH} characters"}
        )
    if not name.strip():
        problems.append({"field": "name", "reason": "must not be empty"})
    if not problems and await session.scalar(
        select(func.count()).select_from(TeamUser).where(TeamUser.email == email)
    ):
        problems.append({"field": "email", "reason": "an account with this email exists"})
    if problems:
        raise ValidationFailed("Cannot create the account", details=problems)
    user = TeamUser(
        id=uuid.uuid4(),
        email=email,
        name=name.strip(),
        password_hash=_hasher.hash(password),
        created_at=now,
    )
    session.add(user)
    await session.flush()
    return user


async def authenticate(*, session: AsyncSession, email: str, password: str) -> TeamUser:
    """The enabled account with this email and password; one message for every failure."""
    user = await session.scalar(select(TeamUser).where(TeamUser.email == email.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("Wrong email or password") from None
    if user is None or user.disabled_at is not None:
        raise Unauthorized("Wrong email or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


async def get_user(*, session: AsyncSession, user_id: uuid.UUID) -> TeamUser | None:
    """The enabled account with this id, if any."""
    user = await session.get(TeamUser, user_id)
    return user if user is not None and user.disabled_at is None else None
