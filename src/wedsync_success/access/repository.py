"""Queries of the access domain: dashboard sessions, failed sign-ins, API-key rate counters."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access.models import ApiRateCounter, LoginFailure, TeamSession, TeamUser
from wedsync_success.db.upsert import dialect_insert


async def user_by_email(session: AsyncSession, email: str) -> TeamUser | None:
    return await session.scalar(select(TeamUser).where(TeamUser.email == email))


async def add_session(
    session: AsyncSession, *, token_hash: str, user_id: uuid.UUID, now: datetime
) -> None:
    session.add(TeamSession(token_hash=token_hash, user_id=user_id, created_at=now))
    await session.flush()


async def get_session(session: AsyncSession, token_hash: str) -> TeamSession | None:
    return await session.get(TeamSession, token_hash)


async def delete_expired_sessions(session: AsyncSession, *, created_before: datetime) -> None:
    await session.execute(delete(TeamSession).where(TeamSession.created_at < created_before))


async def delete_session(session: AsyncSession, token_hash: str) -> None:
    await session.execute(delete(TeamSession).where(TeamSession.token_hash == token_hash))


async def delete_user_sessions(session: AsyncSession, user_id: uuid.UUID) -> int:
    """End every session of ``user_id``; the number ended."""
    result = await session.execute(delete(TeamSession).where(TeamSession.user_id == user_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def failures_since(
    session: AsyncSession, *, scope: str, subject: str, since: datetime
) -> tuple[int, datetime | None]:
    """How many failures ``subject`` has had since ``since``, and the earliest of them."""
    row = (
        await session.execute(
            select(func.count(), func.min(LoginFailure.failed_at)).where(
                LoginFailure.scope == scope,
                LoginFailure.subject == subject,
                LoginFailure.failed_at > since,
            )
        )
    ).one()
    return int(row[0]), row[1]


async def add_failures(
    session: AsyncSession, *, subjects: dict[str, str], now: datetime, forget_before: datetime
) -> None:
    """Record one failure per ``{scope: subject}``; drop failures too old to count any more."""
    await session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= forget_before))
    session.add_all(
        LoginFailure(scope=scope, subject=subject, failed_at=now)
        for scope, subject in subjects.items()
    )
    await session.flush()


async def clear_failures(session: AsyncSession, *, scope: str, subject: str) -> None:
    await session.execute(
        delete(LoginFailure).where(LoginFailure.scope == scope, LoginFailure.subject == subject)
    )


async def count_requests(
    session: AsyncSession, *, key_id: uuid.UUID, window_start: datetime, requests: int
) -> int:
    """Add ``requests`` to the key's counter for this window; the count so far, these included."""
    insert = dialect_insert(session, ApiRateCounter).values(
        key_id=key_id, window_start=window_start, requests=requests
    )
    table = ApiRateCounter.__table__
    insert = insert.on_conflict_do_update(
        index_elements=["key_id", "window_start"],
        set_={"requests": table.c.requests + insert.excluded.requests},
    ).returning(table.c.requests)
    count = int((await session.execute(insert)).scalar_one())
    if count == requests:  # this made the window's row: earlier windows count for nothing now
        await session.execute(
            delete(ApiRateCounter).where(
                ApiRateCounter.key_id == key_id, ApiRateCounter.window_start < window_start
            )
        )
    return count


async def active_user_ids(session: AsyncSession) -> list[uuid.UUID]:
    """Team members who can be given work (not disabled), in a stable order."""
    rows = await session.scalars(
        select(TeamUser.id)
        .where(TeamUser.disabled_at.is_(None))
        .order_by(TeamUser.created_at, TeamUser.id)
    )
    return list(rows)


async def names_of(session: AsyncSession, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(TeamUser.id, TeamUser.name).where(TeamUser.id.in_(user_ids))
    )
    return {user_id: name for user_id, name in rows}


async def existing_user_ids(session: AsyncSession, user_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Which of ``user_ids`` are team members."""
    if not user_ids:
        return []
    return list(await session.scalars(select(TeamUser.id).where(TeamUser.id.in_(user_ids))))


async def enabled_members(session: AsyncSession) -> list[TeamUser]:
    """Every team member who is not disabled, by name (a team is tens of people)."""
    rows = await session.scalars(
        select(TeamUser).where(TeamUser.disabled_at.is_(None)).order_by(TeamUser.name, TeamUser.id)
    )
    return list(rows)
