"""Every query of the in-app channel: insert a message once, pull by cursor, first-time marks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db.upsert import dialect_insert
from wedsync_success.interventions.models import InAppMessage, Intervention

MessageMark = Literal["seen_at", "clicked_at", "dismissed_at"]
InterventionMark = Literal["opened_at", "clicked_at"]


async def insert_once(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """Insert a message; None when its intervention already has one (the unique index)."""
    statement = (
        dialect_insert(session, InAppMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["intervention_id"])
        .returning(InAppMessage.__table__.c.id)
    )
    new_id: int | None = (await session.execute(statement)).scalar_one_or_none()
    return new_id


async def id_for_intervention(session: AsyncSession, intervention_id: uuid.UUID) -> int | None:
    found: int | None = await session.scalar(
        select(InAppMessage.id).where(InAppMessage.intervention_id == intervention_id)
    )
    return found


async def visible_after(
    session: AsyncSession, *, supplier_user_id: uuid.UUID, after: int | None, limit: int
) -> Sequence[InAppMessage]:
    """Up to ``limit`` of the user's messages not dismissed, with ids above ``after``, by id."""
    query = select(InAppMessage).where(
        InAppMessage.supplier_user_id == supplier_user_id,
        InAppMessage.dismissed_at.is_(None),
    )
    if after is not None:
        query = query.where(InAppMessage.id > after)
    rows = await session.scalars(query.order_by(InAppMessage.id).limit(limit))
    return rows.all()


async def get(session: AsyncSession, message_id: int) -> InAppMessage | None:
    """The message as stored now (not as an earlier read of this session left it)."""
    found: InAppMessage | None = await session.scalar(
        select(InAppMessage)
        .where(InAppMessage.id == message_id)
        .execution_options(populate_existing=True)
    )
    return found


async def mark_message(
    session: AsyncSession, message_id: int, column: MessageMark, now: datetime
) -> bool:
    """Set ``column`` if it is still empty; True when this call set it (one caller wins)."""
    statement = (
        update(InAppMessage)
        .where(InAppMessage.id == message_id, getattr(InAppMessage, column).is_(None))
        .values({column: now, "updated_at": now})
        .returning(InAppMessage.id)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(statement)).first() is not None


async def mark_intervention(
    session: AsyncSession, intervention_id: uuid.UUID, column: InterventionMark, now: datetime
) -> Row[uuid.UUID | None, int | None, str | None, str] | None:
    """Set ``column`` if it is still empty; the intervention's run and step when this call did."""
    statement = (
        update(Intervention)
        .where(Intervention.id == intervention_id, getattr(Intervention, column).is_(None))
        .values({column: now, "updated_at": now})
        .returning(
            Intervention.run_id,
            Intervention.step_no,
            Intervention.playbook_key,
            Intervention.template,
        )
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(statement)).first()
