"""Team members for workspace tests: made through the access service, returned as rows."""

from __future__ import annotations

from wedsync_success.access.models import TeamRole, TeamUser
from wedsync_success.access.repository import user_by_email
from wedsync_success.access.team import create_user, disable_user
from wedsync_success.context import AppContext

PASSWORD = "correct horse battery"


async def member(
    ctx: AppContext,
    name: str,
    *,
    role: TeamRole = TeamRole.MANAGER,
    disabled: bool = False,
) -> TeamUser:
    """A team member called ``name`` (email ``<name>@wedsync.example``)."""
    email = f"{name.lower()}@wedsync.example"
    async with ctx.db.transaction() as session:
        await create_user(
            session=session, email=email, name=name, password=PASSWORD, now=ctx.clock(), role=role
        )
        if disabled:
            await disable_user(session=session, email=email, now=ctx.clock())
    async with ctx.db.sessions() as session:
        user = await user_by_email(session, email)
    assert user is not None
    return user
