"""The suppliers list's view of account owners: the owner filter ("My accounts" by default for
a manager), the owner column's names and who the bulk form can give accounts to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access import repository as access_repository
from wedsync_success.access.models import TeamRole, TeamUser
from wedsync_success.kit.errors import ValidationFailed

MINE, EVERYONE, NOBODY = "mine", "all", "none"
"""The owner choices besides a member's id (``none``: the accounts nobody owns, and in an
assignment form, give them to nobody)."""


@dataclass(frozen=True)
class OwnerChoice:
    """The list's owner filter as chosen (``mine``, ``all``, ``none`` or a member's id) and
    the :class:`SupplierFilters` fields it sets."""

    value: str
    owner_id: uuid.UUID | None = None
    unowned: bool = False


def default_owner(user: TeamUser) -> str:
    """A manager's list opens on their own accounts; an admin's or a viewer's on everyone's."""
    return MINE if user.role == TeamRole.MANAGER else EVERYONE


def owner_choice(value: str | None, user: TeamUser) -> OwnerChoice:
    """The owner filter of the list's query string; an unknown value names the field."""
    value = (value or "").strip() or default_owner(user)
    if value == MINE:
        return OwnerChoice(MINE, owner_id=user.id)
    if value == EVERYONE:
        return OwnerChoice(EVERYONE)
    if value == NOBODY:
        return OwnerChoice(NOBODY, unowned=True)
    try:
        owner_id = uuid.UUID(value)
    except ValueError:
        raise ValidationFailed(
            "owner must be mine, all, none or a team member's id",
            details=[{"field": "owner", "reason": "not mine, all, none or an id"}],
        ) from None
    if owner_id == user.id:
        return OwnerChoice(MINE, owner_id=owner_id)
    return OwnerChoice(str(owner_id), owner_id=owner_id)


async def owner_view(*, session: AsyncSession, choice: OwnerChoice) -> dict[str, Any]:
    """What ``suppliers.html`` needs for the owner filter, column and bulk form."""
    team = await access_repository.enabled_members(session)
    return {
        "choice": choice.value,
        "members": [m for m in team if m.can_act],
        "names": {m.id: m.name for m in team},
    }
