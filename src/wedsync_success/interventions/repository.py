"""Every query of the interventions domain: runs, step jobs, send decisions and tasks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db.upsert import dialect_insert
from wedsync_success.interventions.channels.base import Category, Channel
from wedsync_success.interventions.models import (
    DeliveryStatus,
    Intervention,
    JobState,
    PlaybookRun,
    RunStatus,
    StepJob,
    SuccessTask,
    SweepMark,
    TaskStatus,
)

CAPPED_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.IN_APP)
"""Channels whose marketing messages count towards the frequency cap."""


async def runs_of(
    session: AsyncSession, supplier_ids: Sequence[uuid.UUID], *, enrolled_since: datetime
) -> Sequence[PlaybookRun]:
    """The active runs of ``supplier_ids`` and every run enrolled since ``enrolled_since``."""
    if not supplier_ids:
        return []
    rows = await session.scalars(
        select(PlaybookRun).where(
            PlaybookRun.supplier_id.in_(list(supplier_ids)),
            or_(
                PlaybookRun.status == RunStatus.ACTIVE,
                PlaybookRun.enrolled_at >= enrolled_since,
            ),
        )
    )
    return rows.all()


async def insert_runs(session: AsyncSession, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert runs in supplier order, skipping any the unique indexes refuse (a concurrent
    enrolment already holds an active run of the playbook or goal group); returns the ids
    inserted."""
    if not rows:
        return set()
    rows = sorted(rows, key=lambda r: (r["supplier_id"], r["playbook_key"]))
    stmt = dialect_insert(session, PlaybookRun).on_conflict_do_nothing()
    await session.execute(stmt, rows)
    ids = [r["id"] for r in rows]
    stored = await session.scalars(select(PlaybookRun.id).where(PlaybookRun.id.in_(ids)))
    return set(stored)


def pending_job(
    *,
    supplier_id: uuid.UUID,
    due_at: datetime,
    now: datetime,
    run_id: uuid.UUID | None = None,
    step_no: int = 0,
    intervention_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The row of a job waiting for ``due_at``: a run's step, or a one-off message."""
    return {
        "run_id": run_id,
        "intervention_id": intervention_id,
        "supplier_id": supplier_id,
        "step_no": step_no,
        "due_at": due_at,
        "state": JobState.PENDING,
        "attempts": 0,
        "created_at": now,
    }


async def insert_jobs(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Schedule step jobs; a (run, step) already scheduled is left as it is."""
    if not rows:
        return
    rows = sorted(rows, key=lambda r: (r["run_id"], r["step_no"]))
    stmt = dialect_insert(session, StepJob).on_conflict_do_nothing(
        index_elements=["run_id", "step_no"]
    )
    await session.execute(stmt, rows)


def _due(now: datetime) -> ColumnElement[bool]:
    """Pending jobs whose time has come, and claimed ones whose worker's lease ran out."""
    return or_(
        (StepJob.state == JobState.PENDING) & (StepJob.due_at <= now),
        (StepJob.state == JobState.RUNNING) & (StepJob.lease_until < now),
    )


async def any_due(session: AsyncSession, now: datetime) -> bool:
    """Whether a claim now would find work (a read, so an idle worker takes no write lock)."""
    found = await session.scalar(select(StepJob.id).where(_due(now)).limit(1))
    return found is not None


async def claim_jobs(
    session: AsyncSession, *, now: datetime, lease: timedelta, worker: str, limit: int
) -> list[tuple[int, uuid.UUID]]:
    """Claim up to ``limit`` due jobs (and jobs whose worker's lease ran out) for ``worker``.

    On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several workers claim side by side without
    waiting for or taking each other's jobs; SQLite runs this in its single write transaction.
    """
    query = (
        select(StepJob.id, StepJob.supplier_id)
        .where(_due(now))
        .order_by(StepJob.due_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = [(job_id, supplier_id) for job_id, supplier_id in await session.execute(query)]
    if claimed:
        await session.execute(
            update(StepJob)
            .where(StepJob.id.in_([job_id for job_id, _ in claimed]))
            .values(state=JobState.RUNNING, lease_until=now + lease, claimed_by=worker)
        )
    return claimed


async def job(session: AsyncSession, job_id: int) -> StepJob | None:
    return await session.get(StepJob, job_id, with_for_update=False, populate_existing=True)


async def run(session: AsyncSession, run_id: uuid.UUID) -> PlaybookRun | None:
    return await session.get(PlaybookRun, run_id, populate_existing=True)


async def next_due(session: AsyncSession) -> datetime | None:
    """When the earliest pending job falls due."""
    return await session.scalar(
        select(func.min(StepJob.due_at)).where(StepJob.state == JobState.PENDING)
    )


async def close_pending_jobs(session: AsyncSession, run_id: uuid.UUID) -> None:
    """A run that ended has nothing left to do."""
    await session.execute(
        update(StepJob)
        .where(StepJob.run_id == run_id, StepJob.state != JobState.DONE)
        .values(state=JobState.DONE, lease_until=None)
    )


async def intervention_by_key(session: AsyncSession, key: str) -> Intervention | None:
    return (
        await session.scalars(select(Intervention).where(Intervention.idempotency_key == key))
    ).first()


async def run_outcomes(session: AsyncSession, run_id: uuid.UUID) -> dict[str, bool]:
    """What the run's earlier messages achieved: any email opened, anything clicked, any
    in-app message seen."""
    i = Intervention
    row = (
        await session.execute(
            select(
                func.count().filter((i.channel == Channel.EMAIL) & i.opened_at.is_not(None)),
                func.count().filter(i.clicked_at.is_not(None)),
                func.count().filter((i.channel == Channel.IN_APP) & i.opened_at.is_not(None)),
            ).where(i.run_id == run_id)
        )
    ).one()
    return {"email_opened": row[0] > 0, "clicked": row[1] > 0, "inapp_seen": row[2] > 0}


async def marketing_sent_since(
    session: AsyncSession, supplier_id: uuid.UUID, since: datetime
) -> int:
    """Marketing messages sent (or being sent) to a supplier since ``since``: the cap's count."""
    i = Intervention
    return int(
        await session.scalar(
            select(func.count()).where(
                i.supplier_id == supplier_id,
                i.category == Category.MARKETING,
                i.channel.in_([str(c) for c in CAPPED_CHANNELS]),
                i.status.in_([DeliveryStatus.SENT, DeliveryStatus.SENDING]),
                func.coalesce(i.sent_at, i.updated_at) >= since,
            )
        )
        or 0
    )


async def open_task(
    session: AsyncSession, supplier_id: uuid.UUID, reason: str
) -> SuccessTask | None:
    return (
        await session.scalars(
            select(SuccessTask).where(
                SuccessTask.supplier_id == supplier_id,
                SuccessTask.reason == reason,
                SuccessTask.status == TaskStatus.OPEN,
            )
        )
    ).first()


async def open_task_counts(session: AsyncSession) -> dict[uuid.UUID, int]:
    """Open tasks per owner, for round-robin assignment."""
    rows = await session.execute(
        select(SuccessTask.owner_id, func.count())
        .where(SuccessTask.status == TaskStatus.OPEN, SuccessTask.owner_id.is_not(None))
        .group_by(SuccessTask.owner_id)
    )
    return {owner: int(n) for owner, n in rows if owner is not None}


async def sweep_mark(session: AsyncSession, name: str) -> SweepMark | None:
    return await session.get(SweepMark, name, populate_existing=True)


async def active_runs(
    session: AsyncSession, supplier_ids: Sequence[uuid.UUID]
) -> Sequence[PlaybookRun]:
    """The active runs of ``supplier_ids``, in supplier order."""
    if not supplier_ids:
        return []
    rows = await session.scalars(
        select(PlaybookRun)
        .where(
            PlaybookRun.supplier_id.in_(list(supplier_ids)), PlaybookRun.status == RunStatus.ACTIVE
        )
        .order_by(PlaybookRun.supplier_id, PlaybookRun.id)
    )
    return rows.all()


async def run_counts(session: AsyncSession) -> dict[str, tuple[int, int]]:
    """(active, enrolled ever) runs per playbook."""
    rows = await session.execute(
        select(
            PlaybookRun.playbook_key,
            func.count().filter(PlaybookRun.status == RunStatus.ACTIVE),
            func.count(),
        ).group_by(PlaybookRun.playbook_key)
    )
    return {key: (int(active), int(total)) for key, active, total in rows}


@dataclass(frozen=True)
class InterventionFilters:
    supplier_id: uuid.UUID | None = None
    playbook: str | None = None
    status: str | None = None
    channel: str | None = None


async def intervention_page(
    session: AsyncSession,
    filters: InterventionFilters,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Intervention]:
    """Newest first, by keyset on (created_at, id)."""
    i = Intervention
    query = select(i)
    if filters.supplier_id is not None:
        query = query.where(i.supplier_id == filters.supplier_id)
    if filters.playbook is not None:
        query = query.where(i.playbook_key == filters.playbook)
    if filters.status is not None:
        query = query.where(i.status == filters.status)
    if filters.channel is not None:
        query = query.where(i.channel == filters.channel)
    if after is not None:
        query = query.where(tuple_(i.created_at, i.id) < tuple_(*after))
    rows = await session.scalars(query.order_by(i.created_at.desc(), i.id.desc()).limit(limit))
    return rows.all()


@dataclass(frozen=True)
class TaskFilters:
    status: str | None = None
    owner_id: uuid.UUID | None = None
    supplier_id: uuid.UUID | None = None


async def task_page(
    session: AsyncSession, filters: TaskFilters, *, after: tuple[date, uuid.UUID] | None, limit: int
) -> Sequence[SuccessTask]:
    """Soonest due first, by keyset on (due_on, id)."""
    t = SuccessTask
    query = select(t)
    if filters.status is not None:
        query = query.where(t.status == filters.status)
    if filters.owner_id is not None:
        query = query.where(t.owner_id == filters.owner_id)
    if filters.supplier_id is not None:
        query = query.where(t.supplier_id == filters.supplier_id)
    if after is not None:
        query = query.where(tuple_(t.due_on, t.id) > tuple_(*after))
    rows = await session.scalars(query.order_by(t.due_on, t.id).limit(limit))
    return rows.all()


async def task(session: AsyncSession, task_id: uuid.UUID) -> SuccessTask | None:
    return await session.get(SuccessTask, task_id, populate_existing=True)


async def enrolments_by_week(
    session: AsyncSession, *, playbook_key: str, week_starts: Sequence[datetime]
) -> dict[str, list[int]]:
    """Runs of ``playbook_key`` enrolled in each week starting at ``week_starts`` (ascending,
    a week apart), per arm: one grouped query with a bucket per week."""
    if not week_starts:
        return {}
    edges = [*week_starts, week_starts[-1] + timedelta(weeks=1)]
    r = PlaybookRun
    buckets = [
        func.sum(case((and_(r.enrolled_at >= lo, r.enrolled_at < hi), 1), else_=0))
        for lo, hi in pairwise(edges)
    ]
    rows = await session.execute(
        select(r.arm, *buckets)
        .where(r.playbook_key == playbook_key, r.enrolled_at >= edges[0], r.enrolled_at < edges[-1])
        .group_by(r.arm)
    )
    return {str(arm): [int(n or 0) for n in counts] for arm, *counts in rows}


async def release_held_jobs(
    session: AsyncSession, supplier_id: uuid.UUID, *, until: datetime, now: datetime
) -> int:
    """Make the supplier's held steps due now: pending run steps due by ``until`` whose
    decision is ``held`` (the end of a snooze; a step still in quiet hours is simply held
    again when the worker decides it)."""
    held = select(Intervention.id).where(
        Intervention.run_id == StepJob.run_id,
        Intervention.step_no == StepJob.step_no,
        Intervention.status == DeliveryStatus.HELD,
    )
    result = await session.execute(
        update(StepJob)
        .where(
            StepJob.supplier_id == supplier_id,
            StepJob.state == JobState.PENDING,
            StepJob.due_at > now,
            StepJob.due_at <= until,
            held.exists(),
        )
        .values(due_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


TASK_BUCKETS = ("overdue", "due_today", "upcoming", "snoozed")


def _effective_due() -> ColumnElement[date]:
    """A task's due day, pushed back to the day its snooze ends."""
    t = SuccessTask
    return case((t.snoozed_until > t.due_on, t.snoozed_until), else_=t.due_on)


def _task_bucket(today: date) -> ColumnElement[str]:
    """Where an open task sits on ``today``: snoozed while its snooze lasts, then by its
    (effective) due day."""
    t = SuccessTask
    due = _effective_due()
    return case(
        (t.snoozed_until > today, "snoozed"),
        (due < today, "overdue"),
        (due == today, "due_today"),
        else_="upcoming",
    )


async def task_board(
    session: AsyncSession, owner_id: uuid.UUID, *, today: date, limit: int
) -> tuple[dict[str, list[SuccessTask]], dict[str, int]]:
    """An owner's open tasks per bucket (the first ``limit`` of each, soonest first) and how
    many each bucket holds: one counting query and one per bucket."""
    t = SuccessTask
    bucket = _task_bucket(today)
    mine = (t.owner_id == owner_id) & (t.status == TaskStatus.OPEN)
    counts = {
        str(name): int(n)
        for name, n in await session.execute(
            select(bucket.label("bucket"), func.count()).where(mine).group_by(bucket)
        )
    }
    due = _effective_due()
    groups: dict[str, list[SuccessTask]] = {}
    for name in TASK_BUCKETS:
        if not counts.get(name):
            groups[name] = []
            continue
        order = (t.snoozed_until, t.id) if name == "snoozed" else (due, t.id)
        rows = await session.scalars(
            select(t).where(mine, bucket == name).order_by(*order).limit(limit)
        )
        groups[name] = list(rows)
    return groups, counts


async def runs_by_ids(session: AsyncSession, run_ids: Sequence[uuid.UUID]) -> Sequence[PlaybookRun]:
    if not run_ids:
        return []
    rows = await session.scalars(select(PlaybookRun).where(PlaybookRun.id.in_(list(run_ids))))
    return rows.all()
