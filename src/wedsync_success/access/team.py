"""Success-team accounts for the dashboard: passwords hashed with Argon2id.

Argon2 is deliberately slow (tens of milliseconds of CPU and 64 MiB per hash), so it never
runs on the event loop: hashes run in a small dedicated thread pool (argon2-cffi releases
the GIL), at most :data:`HASH_WORKERS` at a time per process. A login storm then queues for
those workers while every other request keeps the loop to itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access import repository
from wedsync_success.access.models import TeamRole, TeamUser
from wedsync_success.kit.errors import NotFound, Unauthorized, ValidationFailed

T = TypeVar("T")

_hasher = PasswordHasher()
HASH_WORKERS = max(1, (os.cpu_count() or 2) // 2)
"""Concurrent hashes per process: half the cores, so hashing never takes every core."""
MIN_PASSWORD_LENGTH = 10
WRONG_CREDENTIALS = "Wrong email or password"


HASH_NICENESS = 10
"""Hashing threads yield the CPU to the event loop: under contention the loop thread gets
about nine tenths of a core against a hashing thread (Linux CFS weights for nice 0 vs 10)."""


def _yield_cpu_to_the_loop() -> None:
    """Lower this (worker) thread's scheduling priority; Argon2's lane threads inherit it."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux: only the priority is lost
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICENESS)


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=HASH_WORKERS,
        thread_name_prefix="argon2",
        initializer=_yield_cpu_to_the_loop,
    )


async def _off_loop(work: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(_pool(), work)


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so a wrong email costs as long as a wrong
    password. Made on first use, not at import (a hash costs start-up time)."""
    return _hasher.hash("not-a-real-password")


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored if stored is not None else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _check_password(password: str) -> list[dict[str, str]]:
    if len(password) < MIN_PASSWORD_LENGTH:
        return [{"field": "password", "reason": f"at least {MIN_PASSWORD_LENGTH} characters"}]
    return []


def parse_role(value: str) -> TeamRole:
    """The role named ``value``, or a refusal naming the roles there are."""
    try:
        return TeamRole(value.strip().lower())
    except ValueError:
        raise ValidationFailed(
            f"Unknown role {value!r}",
            details=[{"field": "role", "reason": f"must be one of {', '.join(TeamRole)}"}],
        ) from None


async def create_user(
    *,
    session: AsyncSession,
    email: str,
    name: str,
    password: str,
    now: datetime,
    role: TeamRole = TeamRole.MANAGER,
) -> TeamUser:
    """Create a team account; the email is case-insensitive and unique."""
    email = normalise_email(email)
    problems = []
    if "@" not in email or len(email) > 320:
        problems.append({"field": "email", "reason": "not an email address"})
    problems.extend(_check_password(password))
    if not name.strip():
        problems.append({"field": "name", "reason": "must not be empty"})
    if not problems and await repository.user_by_email(session, email) is not None:
        problems.append({"field": "email", "reason": "an account with this email exists"})
    if problems:
        raise ValidationFailed("Cannot create the account", details=problems)
    user = TeamUser(
        id=uuid.uuid4(),
        email=email,
        name=name.strip(),
        password_hash=await _off_loop(lambda: _hasher.hash(password)),
        role=role.value,
        created_at=now,
    )
    session.add(user)
    await session.flush()
    return user


@dataclass(frozen=True)
class StoredPassword:
    """What :func:`verify_password` needs of an account, read before hashing."""

    user_id: uuid.UUID | None
    hash: str | None


async def stored_password(*, session: AsyncSession, email: str) -> StoredPassword:
    """The account's id and password hash (both None for an unknown email)."""
    user = await repository.user_by_email(session, normalise_email(email))
    if user is None:
        return StoredPassword(user_id=None, hash=None)
    return StoredPassword(user_id=user.id, hash=user.password_hash)


async def verify_password(
    *, session: AsyncSession, stored: StoredPassword, password: str
) -> TeamUser:
    """The enabled account if ``password`` matches; one message for every failure.

    Hashing needs no database: a caller may end its transaction between
    :func:`stored_password` and this, so a queue of logins holds no connections. A hash made
    with older parameters is replaced by one with the current parameters.
    """
    if not await _off_loop(lambda: _verify(stored.hash, password)):
        raise Unauthorized(WRONG_CREDENTIALS)
    user = await session.get(TeamUser, stored.user_id) if stored.user_id else None
    if user is None or user.disabled_at is not None or user.password_hash != stored.hash:
        raise Unauthorized(WRONG_CREDENTIALS)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await _off_loop(lambda: _hasher.hash(password))
    return user


async def authenticate(*, session: AsyncSession, email: str, password: str) -> TeamUser:
    """The enabled account with this email and password; one message for every failure."""
    stored = await stored_password(session=session, email=email)
    return await verify_password(session=session, stored=stored, password=password)


async def _existing(session: AsyncSession, email: str) -> TeamUser:
    user = await repository.user_by_email(session, normalise_email(email))
    if user is None:
        raise NotFound(f"No account with email {normalise_email(email)!r}")
    return user


async def change_password(
    *, session: AsyncSession, email: str, password: str
) -> tuple[TeamUser, int]:
    """Set a new password and end every session of the account; the sessions ended."""
    problems = _check_password(password)
    if problems:
        raise ValidationFailed("Cannot change the password", details=problems)
    user = await _existing(session, email)
    user.password_hash = await _off_loop(lambda: _hasher.hash(password))
    return user, await repository.delete_user_sessions(session, user.id)


async def set_role(*, session: AsyncSession, email: str, role: TeamRole) -> TeamUser:
    """Give the account ``role``; it applies from the account's next request."""
    user = await _existing(session, email)
    user.role = role.value
    return user


async def disable_user(*, session: AsyncSession, email: str, now: datetime) -> tuple[TeamUser, int]:
    """Refuse the account from now on and end every session of it; the sessions ended."""
    user = await _existing(session, email)
    if user.disabled_at is None:
        user.disabled_at = now
    return user, await repository.delete_user_sessions(session, user.id)


async def get_user(*, session: AsyncSession, user_id: uuid.UUID) -> TeamUser | None:
    """The enabled account with this id, if any."""
    user = await session.get(TeamUser, user_id)
    return user if user is not None and user.disabled_at is None else None
