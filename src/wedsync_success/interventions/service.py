"""The interventions use cases the API and the dashboard share: playbooks, the outreach
timeline, one-off messages and the success team's tasks."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access import repository as access_repository
from wedsync_success.access.models import TeamUser
from wedsync_success.db.locks import lock_suppliers
from wedsync_success.interventions import enrolment, repository, team_tasks
from wedsync_success.interventions.models import Arm, TaskStatus
from wedsync_success.interventions.playbooks import Playbook, PlaybookFile, WaitStep
from wedsync_success.interventions.repository import InterventionFilters, TaskFilters
from wedsync_success.interventions.schemas import (
    TASK_SNOOZE_MAX_DAYS,
    InterventionOut,
    InterventionPage,
    ManualTaskIn,
    PlaybookOut,
    PlaybookStepOut,
    TaskBoard,
    TaskGroup,
    TaskIn,
    TaskNames,
    TaskOut,
    TaskPage,
    TaskPatch,
    TaskRun,
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


async def assignable_members(*, session: AsyncSession) -> list[TeamUser]:
    """Who tasks can go to: enabled admins and managers (a viewer cannot work a task)."""
    return [u for u in await access_repository.enabled_members(session) if u.can_act]


async def _check_owner(session: AsyncSession, owner_id: uuid.UUID | None) -> None:
    if owner_id is None:
        return
    members = await access_repository.enabled_members(session)
    found = next((u for u in members if u.id == owner_id), None)
    if found is None:
        raise ValidationFailed(
            "No enabled team member has this id",
            details=[{"field": "owner_id", "reason": "no enabled team member has this id"}],
        )
    if not found.can_act:
        raise ValidationFailed(
            f"{found.name} is a viewer and cannot work tasks",
            details=[{"field": "owner_id", "reason": "a viewer cannot be given tasks"}],
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


def _snoozed_until(patch: TaskPatch, *, status: str, today: date) -> tuple[bool, date | None]:
    """Whether the patch changes the snooze, and to what (``None``: awake)."""
    given = "snoozed_until" in patch.model_fields_set
    if patch.snooze_days is not None and given:
        raise ValidationFailed(
            "Give snooze_days or snoozed_until, not both",
            details=[{"field": "snoozed_until", "reason": "not with snooze_days"}],
        )
    if patch.snooze_days is None and not given:
        return False, None
    until = today + timedelta(days=patch.snooze_days) if patch.snooze_days else patch.snoozed_until
    if until is None:
        return True, None
    field = "snooze_days" if patch.snooze_days else "snoozed_until"
    if status != TaskStatus.OPEN:
        raise ValidationFailed(
            "Only an open task can be snoozed",
            details=[{"field": field, "reason": "the task is closed"}],
        )
    if not today < until <= today + timedelta(days=TASK_SNOOZE_MAX_DAYS):
        raise ValidationFailed(
            f"A task is snoozed until a day after today and at most {TASK_SNOOZE_MAX_DAYS} "
            "days ahead",
            details=[
                {
                    "field": field,
                    "reason": f"must be between {today + timedelta(days=1)} and "
                    f"{today + timedelta(days=TASK_SNOOZE_MAX_DAYS)}",
                }
            ],
        )
    return True, until


async def update_task(
    *, session: AsyncSession, task_id: uuid.UUID, patch: TaskPatch, now: datetime
) -> TaskOut:
    """Change a task's status, owner, priority, due date, notes or snooze."""
    found = await repository.task(session, task_id)
    if found is None:
        raise NotFound(f"No task with id {task_id}")
    await lock_suppliers(session, [found.supplier_id])
    found = await repository.task(session, task_id)
    if found is None:  # deleted (its supplier erased) while we waited for the lock
        raise NotFound(f"No task with id {task_id}")
    await _check_owner(session, patch.owner_id)
    status = patch.status or found.status
    snoozing, until = _snoozed_until(patch, status=status, today=now.date())
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
    if snoozing:
        found.snoozed_until = until
    elif status != TaskStatus.OPEN:
        found.snoozed_until = None  # a closed task is not snoozed
    found.updated_at = now
    await session.flush()
    return TaskOut.model_validate(found)


MANUAL_REASON = "manual"
"""Tasks a team member writes by hand have reason ``manual_<id>``: one per task, so any
number can be open for a supplier (the one-open-task rule is for automatic reasons)."""


def manual_reason() -> str:
    return f"{MANUAL_REASON}_{uuid.uuid4().hex[:16]}"


async def create_manual_task(
    *, session: AsyncSession, supplier_id: uuid.UUID, body: ManualTaskIn, now: datetime
) -> TaskOut:
    """A task a team member writes for a supplier, due today or later."""
    if body.due_on < now.date():
        raise ValidationFailed(
            "A new task is due today or later",
            details=[{"field": "due_on", "reason": f"before today ({now.date()})"}],
        )
    task = TaskIn(
        supplier_id=supplier_id,
        reason=manual_reason(),
        title=body.title,
        detail=body.detail,
        priority=body.priority,
        due_on=body.due_on,
        owner_id=body.owner_id,
    )
    return (await create_task(session=session, body=task, now=now)).task


async def task_board(
    *, session: AsyncSession, owner_id: uuid.UUID, today: date, limit: int
) -> TaskBoard:
    """A member's open tasks: overdue, due today, upcoming, and snoozed."""
    groups, counts = await repository.task_board(session, owner_id, today=today, limit=limit)

    def group(name: str) -> TaskGroup:
        return TaskGroup(
            items=[TaskOut.model_validate(t) for t in groups[name]], total=counts.get(name, 0)
        )

    return TaskBoard(
        today=today,
        overdue=group("overdue"),
        due_today=group("due_today"),
        upcoming=group("upcoming"),
        snoozed=group("snoozed"),
    )


@dataclass(frozen=True)
class StartedRun:
    run_id: uuid.UUID
    playbook: Playbook
    arm: Arm


async def start_playbook(
    *,
    session: AsyncSession,
    catalog: PlaybookFile,
    supplier_id: uuid.UUID,
    playbook_key: str,
    by: TeamUser,
    now: datetime,
    rng: random.Random | None = None,
) -> StartedRun:
    """Enrol a supplier in a playbook by hand, through the automatic triggers' enrolment
    (arm drawn and stored the same way, one active run per playbook and goal group); the
    trigger conditions, the re-enrolment window and any account snooze do not apply."""
    playbook = catalog.get(playbook_key)
    if playbook is None or not playbook.enabled:
        reason = "not a configured playbook" if playbook is None else "disabled in the file"
        raise ValidationFailed(
            f"No playbook {playbook_key!r} can be started: {reason}",
            details=[{"field": "playbook", "reason": reason}],
        )
    await lock_suppliers(session, [supplier_id])
    if await suppliers_repository.get(session, supplier_id) is None:
        raise NotFound(f"No supplier with id {supplier_id}")
    trigger = {"event": enrolment.MANUAL_TRIGGER, "by": str(by.id), "by_name": by.name}
    outcome = await enrolment.enrol_candidates(
        session=session,
        catalog=catalog,
        candidates=[enrolment.Candidate(playbook, supplier_id, None, trigger)],
        now=now,
        rng=rng,
    )
    if outcome.refused:
        _, reason = outcome.refused[0]
        raise ValidationFailed(
            f"{playbook.name} was not started: {reason}.",
            details=[{"field": "playbook", "reason": reason}],
        )
    (made,) = outcome.enrolled
    return StartedRun(run_id=made.run_id, playbook=playbook, arm=made.arm)


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


async def task_names(
    *, session: AsyncSession, tasks: list[TaskOut], catalog: PlaybookFile | None = None
) -> TaskNames:
    """The business names of the tasks' suppliers, the names of their owners, and the runs
    (playbook name, start) the tasks came from."""
    suppliers = await suppliers_repository.by_ids(session, sorted({t.supplier_id for t in tasks}))
    owners = sorted({t.owner_id for t in tasks if t.owner_id is not None})
    runs = await repository.runs_by_ids(session, sorted({t.run_id for t in tasks if t.run_id}))
    playbooks = {p.key: p.name for p in catalog.playbooks} if catalog else {}
    return TaskNames(
        suppliers={i: s.business_name for i, s in suppliers.items()},
        owners=await access_repository.names_of(session, owners),
        runs={
            r.id: TaskRun(
                playbook_key=r.playbook_key,
                playbook_name=playbooks.get(r.playbook_key, r.playbook_key),
                enrolled_at=r.enrolled_at,
            )
            for r in runs
        },
    )
