"""The queries recording opens and clicks: first writer wins, by construction.

Each is one ``UPDATE … WHERE <column> IS NULL``. On PostgreSQL a second transaction updating
the same row waits for the first, then re-checks the condition against the committed row and
updates nothing; on SQLite writers run one at a time. Whoever gets a row back is the one that
recorded it, and only that one emits the event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.interventions.models import Intervention


@dataclass(frozen=True)
class Marked:
    """The intervention a first open or click was recorded on."""

    id: uuid.UUID
    supplier_id: uuid.UUID
    run_id: uuid.UUID | None
    step_no: int | None
    playbook_key: str | None
    channel: str
    category: str


_COLUMNS = (
    Intervention.id,
    Intervention.supplier_id,
    Intervention.run_id,
    Intervention.step_no,
    Intervention.playbook_key,
    Intervention.channel,
    Intervention.category,
)


async def mark_opened(
    session: AsyncSession, *, intervention_id: uuid.UUID, now: datetime
) -> Marked | None:
    """Set ``opened_at`` unless it is set; the row when this call set it."""
    stmt = (
        update(Intervention)
        .where(Intervention.id == intervention_id, Intervention.opened_at.is_(None))
        .values(opened_at=now, updated_at=now)
        .returning(*_COLUMNS)
        .execution_options(synchronize_session=False)
    )
    row = (await session.execute(stmt)).first()
    return Marked(*row) if row else None


async def mark_clicked(
    session: AsyncSession, *, intervention_id: uuid.UUID, now: datetime
) -> Marked | None:
    """Set ``clicked_at`` unless it is set; the row when this call set it."""
    stmt = (
        update(Intervention)
        .where(Intervention.id == intervention_id, Intervention.clicked_at.is_(None))
        .values(clicked_at=now, updated_at=now)
        .returning(*_COLUMNS)
        .execution_options(synchronize_session=False)
    )
    row = (await session.execute(stmt)).first()
    return Marked(*row) if row else None
