"""The interventions use cases the API and the dashboard share: playbooks, the outreach
timeline, one-off messages and the success team's tasks."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access import repository as access_repository
from wedsync_success.db.locks import lock_suppliers
from wedsync_success.interventions import repository, team_tasks
from wedsync_success.interventions.models import Arm, TaskStatus
from wedsync_success.interventions.playbooks import Playbook, PlaybookFile, WaitStep
from wedsync_success.interventions.repository import InterventionFilters, TaskFilters
from wedsync_success.interventions.schemas import (
    InterventionOut,
    InterventionPage,
    PlaybookOut,
    PlaybookStepOut,
    TaskIn,
    TaskNames,
    TaskOut,
    TaskPage,
    TaskPatch,
    TaskWriteOut,
    WeeklyEnrolments,
)
from wedsync_success.kit.errors import NotFound, ValidationFailed
from wedsync_success.kit.pagination import decode_cursor, encode_cursor
from wedsync_success.suppliers import repository as suppliers_repository

T = TypeVar("T")


def _step(step: object) -> PlaybookStepOut:
    if isinstance(step, WaitStep):
        return PlaybookStepOut(kind="wait", detail=step.wait)
    channel = str(getattr(step, "channel", ""))
    detail = (
        getattr(step, "template", None)
        or getattr(step, "title", None)
        or getattr(step, "text", None)
        or getattr(step, "action", "")
    )
    skip = getattr(step, "skip_if", [])
    return PlaybookStepOut(
        kind=channel, detail=str(detail) + (f" (skip if {', '.join(skip)})" if skip else "")
    )


def _goal(playbook: Playbook) -> str | None:
    parts = []
    if playbook.goal.risk_level_in:
        parts.append("risk level " + " or ".join(playbook.goal.risk_level_in))
    if playbook.goal.milestone:
        parts.append(f"milestone {playbook.goal.milestone}")
    return "; ".join(parts) or None


async def list_playbooks(*, session: AsyncSession, catalog: PlaybookFile) -> list[PlaybookOut]:
    """Every configured playbook with how many runs it has."""
    counts = await repository.run_counts(session)
    return [
        PlaybookOut(
            key=p.key,
            name=p.name,
            description=p.description,
            enabled=p.enabled,
            priority=p.priority,
            goal_group=p.group,
            trigger=p.trigger.event,
            steps=[_step(s) for s in p.steps],
            goal=_goal(p),
            holdout=p.holdout,
            reenrol_after_days=p.reenrol_after_days,
            active_runs=counts.get(p.key, (0, 0))[0],
            enrolled=counts.get(p.key, (0, 0))[1],
        )
        for p in catalog.playbooks
    ]


def playbook_or_404(catalog: PlaybookFile, key: str) -> Playbook:
    playbook = catalog.get(key)
    if playbook is None:
        raise NotFound(
            f"No playbook {key!r}",
            details=[{"field": "key", "reason": "not a configured playbook"}],
        )
    return playbook


async def list_interventions(
    *, session: AsyncSession, filters: InterventionFilters, cursor: str | None, limit: int
) -> InterventionPage:
    after = None
    if cursor:
        created, ident = decode_cursor(cursor, shape=(str, uuid.UUID))
        after = (_parsed(datetime.fromisoformat, created), ident)
    rows = await repository.intervention_page(session, filters, after=after, limit=limit + 1)
    items = [InterventionOut.model_validate(r) for r in rows[:limit]]
    more = len(rows) > limit
    return InterventionPage(
        items=items,
        next_cursor=encode_cursor([items[-1].created_at, items[-1].id]) if more else None,
    )


async def list_tasks(
    *, session: AsyncSession, filters: TaskFilters, cursor: str | None, limit: int
) -> TaskPage:
    after = None
    if cursor:
        due, ident = decode_cursor(cursor, shape=(str, uuid.UUID))
        after = (_parsed(date.fromisoformat, due), ident)
    rows = await repository.task_page(session, filters, after=after, limit=limit + 1)
    items = [TaskOut.model_validate(r) for r in rows[:limit]]
    more = len(rows) > limit
    return TaskPage(
        items=items, next_cursor=encode_cursor([items[-1].due_on, items[-1].id]) if more else None
    )


def _parsed(parse: Callable[[str], T], value: str) -> T:
    try:
        return parse(value)
    except ValueError:
        raise ValidationFailed(
            "The cursor is not one this listing made",
            details=[{"field": "cursor", "reason": "not a cursor of this listing"}],
        ) from None


async def _check_owner(session: AsyncSession, owner_id: uuid.UUID | None) -> None:
    if owner_id is not None and not await access_repository.existing_user_ids(session, [owner_id]):
        raise ValidationFailed(
            "No team member has this id",
            details=[{"field": "owner_id", "reason": "no team member has this id"}],
        )


async def create_task(*, session: AsyncSession, body: TaskIn, now: datetime) -> TaskWriteOut:
    """Open a task, or update the open one for the same supplier and reason."""
    await lock_suppliers(session, [body.supplier_id])
    supplier = await suppliers_repository.get(session, body.supplier_id)
    if supplier is None:
        raise ValidationFailed(
            "No supplier with this id",
            details=[{"field": "supplier_id", "reason": "no supplier with this id"}],
        )
    await _check_owner(session, body.owner_id)
    outcome = await team_tasks.open_or_update(
        session=session,
        supplier_id=body.supplier_id,
        account_owner_id=body.owner_id or supplier.account_owner_id,
        reason=body.reason,
        title=body.title,
        detail=body.detail,
        priority=body.priority,
        due_on=body.due_on,
        run_id=None,
        now=now,
    )
    if body.owner_id is not None:
        outcome.task.owner_id = body.owner_id
    return TaskWriteOut(task=TaskOut.model_validate(outcome.task), created=outcome.created)


async def update_task(
    *, session: AsyncSession, task_id: uuid.UUID, patch: TaskPatch, now: datetime
) -> TaskOut:
    """Change a task's status, owner, priority, due date or notes."""
    found = await repository.task(session, task_id)
    if found is None:
        raise NotFound(f"No task with id {task_id}")
    await lock_suppliers(session, [found.supplier_id])
    found = await repository.task(session, task_id)
    assert found is not None
    await _check_owner(session, patch.owner_id)
    if patch.status is not None and patch.status != found.status:
        reopening = patch.status == TaskStatus.OPEN.value
        if reopening and await repository.open_task(session, found.supplier_id, found.reason):
            raise ValidationFailed(
                "Another task for this supplier and reason is open",
                details=[{"field": "status", "reason": "an open task for this reason exists"}],
            )
        found.status = patch.status
        found.closed_at = None if reopening else now
    if patch.priority is not None:
        found.priority = patch.priority
    if patch.due_on is not None:
        found.due_on = patch.due_on
    if patch.owner_id is not None:
        found.owner_id = patch.owner_id
    if patch.detail is not None:
        found.detail = patch.detail
    found.updated_at = now
    await session.flush()
    return TaskOut.model_validate(found)


async def enrolments_by_week(
    *, session: AsyncSession, playbook_key: str, as_of: date, weeks: int
) -> WeeklyEnrolments:
    """Runs of a playbook enrolled per week and arm over the ``weeks`` weeks up to ``as_of``."""
    this_monday = as_of - timedelta(days=as_of.weekday())
    starts = [this_monday - timedelta(weeks=w) for w in range(weeks - 1, -1, -1)]
    counts = await repository.enrolments_by_week(
        session,
        playbook_key=playbook_key,
        week_starts=[datetime(d.year, d.month, d.day, tzinfo=UTC) for d in starts],
    )
    empty = [0] * weeks
    return WeeklyEnrolments(
        week_starts=starts,
        treatment=counts.get(Arm.TREATMENT.value, empty),
        control=counts.get(Arm.CONTROL.value, empty),
    )


async def task_names(*, session: AsyncSession, tasks: list[TaskOut]) -> TaskNames:
    """The business names of the tasks' suppliers and the names of their owners."""
    suppliers = await suppliers_repository.by_ids(session, sorted({t.supplier_id for t in tasks}))
    owners = sorted({t.owner_id for t in tasks if t.owner_id is not None})
    return TaskNames(
        suppliers={i: s.business_name for i, s in suppliers.items()},
        owners=await access_repository.names_of(session, owners),
    )
