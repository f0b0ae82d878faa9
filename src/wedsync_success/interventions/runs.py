"""A run's life after enrolment: scheduling its next step, reaching its goal, ending.

A run's waits are folded into the due time of its next channel step, so only channel steps
(and one last "goal window" job after them) are ever scheduled.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEvent, SuccessEventType
from wedsync_success.interventions import repository
from wedsync_success.interventions.models import JobState, PlaybookRun, RunStatus, StepJob
from wedsync_success.interventions.playbooks import Goal, Playbook, PlaybookFile, WaitStep
from wedsync_success.milestones import repository as milestones_repository

GOAL_EVENTS = (
    SuccessEventType.RISK_LEVEL_CHANGED.value,
    SuccessEventType.MILESTONE_ACHIEVED.value,
)
"""Success events that can reach a run's goal before its next step is due."""


def first_step_delay(playbook: Playbook, after_step: int) -> tuple[int | None, timedelta]:
    """The next channel step after ``after_step`` (-1: the start) and the waits before it."""
    delay = timedelta()
    for step_no in range(after_step + 1, len(playbook.steps)):
        step = playbook.steps[step_no]
        if isinstance(step, WaitStep):
            delay += step.delay
            continue
        return step_no, delay
    return None, delay


async def goal_reached(
    session: AsyncSession, goal: Goal, supplier_id: uuid.UUID, risk: str | None
) -> bool:
    if goal.risk_level_in and risk in goal.risk_level_in:
        return True
    if goal.milestone:
        achieved = await milestones_repository.achieved_keys(session, [supplier_id])
        return goal.milestone in achieved.get(supplier_id, set())
    return False


async def advance(
    session: AsyncSession, job: StepJob, run: PlaybookRun, playbook: Playbook, now: datetime
) -> None:
    """Finish ``job`` and schedule the run's next channel step (or its goal-window end)."""
    job.state, job.lease_until = JobState.DONE, None
    next_step, delay = first_step_delay(playbook, job.step_no)
    if next_step is None:
        next_step, delay = len(playbook.steps), delay + timedelta(days=playbook.goal_window_days)
    await repository.insert_jobs(
        session,
        [
            repository.pending_job(
                run_id=run.id,
                supplier_id=run.supplier_id,
                step_no=next_step,
                due_at=now + delay,
                now=now,
            )
        ],
    )
    await session.flush()


async def end_run(
    session: AsyncSession, run: PlaybookRun, status: RunStatus, reason: str, now: datetime
) -> None:
    """End ``run`` (its pending jobs too) and say so in the outbox."""
    run.status, run.ended_at, run.end_reason = status, now, reason
    await session.flush()
    await repository.close_pending_jobs(session, run.id)
    event = (
        SuccessEventType.INTERVENTION_GOAL_REACHED
        if status == RunStatus.GOAL_REACHED
        else SuccessEventType.INTERVENTION_EXITED
    )
    await enqueue(
        session=session,
        events=[
            NewEvent(
                event_type=event,
                supplier_id=run.supplier_id,
                occurred_at=now,
                payload={
                    "run_id": str(run.id),
                    "playbook": run.playbook_key,
                    "arm": run.arm,
                    "status": status.value,
                    "reason": reason,
                },
            )
        ],
        now=now,
    )


async def end_runs_reaching_goals(
    *, session: AsyncSession, catalog: PlaybookFile, events: Sequence[SuccessEvent], now: datetime
) -> int:
    """End, as goal reached, the active runs whose goal one of ``events`` satisfies."""
    reached: dict[uuid.UUID, tuple[set[str], set[str]]] = {}
    for event in events:
        if event.supplier_id is None or event.event_type not in GOAL_EVENTS:
            continue
        levels, milestones = reached.setdefault(event.supplier_id, (set(), set()))
        if event.event_type == SuccessEventType.RISK_LEVEL_CHANGED:
            levels.clear()  # only the latest level counts
            levels.add(str(event.payload.get("risk_level")))
        else:
            milestones.add(str(event.payload.get("milestone")))
    if not reached:
        return 0
    runs = await repository.active_runs(session, sorted(reached))
    ended = 0
    for run in runs:
        playbook = catalog.get(run.playbook_key)
        if playbook is None or not playbook.goal.defined:
            continue
        levels, milestones = reached[run.supplier_id]
        if levels & set(playbook.goal.risk_level_in) or (
            playbook.goal.milestone is not None and playbook.goal.milestone in milestones
        ):
            await end_run(session, run, RunStatus.GOAL_REACHED, "goal reached", now)
            ended += 1
    return ended
