"""The success team's tasks (calls to action): one open task per supplier and reason.

A second trigger for an open task updates it (priority raised, due date brought forward,
counted) instead of opening a duplicate. The owner is the supplier's account owner, else the
team member with the fewest open tasks (round-robin that keeps the load even).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access import repository as access_repository
from wedsync_success.interventions import repository
from wedsync_success.interventions.models import SuccessTask, TaskStatus

PRIORITIES = ("low", "medium", "high", "urgent")


@dataclass(frozen=True)
class TaskOutcome:
    task: SuccessTask
    created: bool


async def choose_owner(
    *, session: AsyncSession, account_owner_id: uuid.UUID | None
) -> uuid.UUID | None:
    """The account owner when the supplier has one, else the least-loaded team member."""
    team = await access_repository.active_user_ids(session)
    if account_owner_id is not None and account_owner_id in team:
        return account_owner_id
    if not team:
        return None
    load = await repository.open_task_counts(session)
    return min(team, key=lambda user_id: load.get(user_id, 0))


async def open_or_update(
    *,
    session: AsyncSession,
    supplier_id: uuid.UUID,
    account_owner_id: uuid.UUID | None,
    reason: str,
    title: str,
    detail: str,
    priority: str,
    due_on: date,
    run_id: uuid.UUID | None,
    now: datetime,
) -> TaskOutcome:
    """Open the task for (supplier, reason), or update the open one."""
    existing = await repository.open_task(session, supplier_id, reason)
    if existing is not None:
        if PRIORITIES.index(priority) > PRIORITIES.index(existing.priority):
            existing.priority = priority
        existing.due_on = min(existing.due_on, due_on)
        existing.detail = detail or existing.detail
        existing.times_triggered += 1
        existing.run_id = run_id or existing.run_id
        existing.updated_at = now
        await session.flush()
        return TaskOutcome(existing, created=False)
    task = SuccessTask(
        id=uuid.uuid4(),
        supplier_id=supplier_id,
        reason=reason,
        title=title,
        detail=detail,
        priority=priority,
        status=TaskStatus.OPEN,
        owner_id=await choose_owner(session=session, account_owner_id=account_owner_id),
        due_on=due_on,
        run_id=run_id,
        times_triggered=1,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    await session.flush()
    return TaskOutcome(task, created=True)


def task_summary(task: SuccessTask) -> dict[str, Any]:
    return {"task_id": str(task.id), "owner_id": str(task.owner_id) if task.owner_id else None}
