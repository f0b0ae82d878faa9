"""Account ownership: which success manager looks after which supplier.

An owner is an enabled admin or manager (a viewer changes nothing, so owns nothing). Tasks of
an owned account go to its owner first, and a manager's list opens on "My accounts".
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access.models import TeamUser
from wedsync_success.access.team import get_user
from wedsync_success.db.locks import lock_suppliers
from wedsync_success.kit.batch import RejectedItem
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.suppliers import repository
from wedsync_success.suppliers.schemas import OwnerAssignment


async def account_owner(*, session: AsyncSession, owner_id: uuid.UUID) -> TeamUser:
    """The enabled admin or manager with ``owner_id``; anyone else is refused, naming why."""
    user = await get_user(session=session, user_id=owner_id)
    if user is None:
        reason = "no enabled team member has this id"
    elif not user.can_act:
        reason = f"{user.email} is a viewer: viewers cannot own accounts"
    else:
        return user
    raise ValidationFailed(f"owner_id: {reason}", details=[{"field": "owner_id", "reason": reason}])


async def assign_owner(
    *, session: AsyncSession, supplier_ids: Sequence[uuid.UUID], owner_id: uuid.UUID | None
) -> OwnerAssignment:
    """Give the accounts of ``supplier_ids`` to ``owner_id``; an id that names no supplier is
    reported by its position and the others are still moved."""
    owner = None if owner_id is None else await account_owner(session=session, owner_id=owner_id)
    wanted = sorted(set(supplier_ids))
    await lock_suppliers(session, wanted)
    owners = await repository.owners_of(session, wanted)
    errors = [
        RejectedItem(index=i, key=str(sid), field=f"supplier_ids.{i}", reason="no such supplier")
        for i, sid in enumerate(supplier_ids)
        if sid not in owners
    ]
    moving = [sid for sid in wanted if sid in owners and owners[sid] != owner_id]
    if moving:
        await repository.set_owner(session, moving, owner_id)
    return OwnerAssignment(
        owner_id=owner_id,
        owner_name=owner.name if owner else None,
        assigned=len(moving),
        unchanged=len(owners) - len(moving),
        rejected=len(errors),
        errors=errors,
    )
