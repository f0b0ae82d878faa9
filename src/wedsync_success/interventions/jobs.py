"""Working one claimed job: a run's step or a one-off message, under the supplier's lock."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db.locks import lock_suppliers
from wedsync_success.interventions import repository
from wedsync_success.interventions.models import JobState
from wedsync_success.interventions.one_off import prepare_one_off
from wedsync_success.interventions.steps import Prepared, StepEnv, prepare_step


async def prepare(
    *, session: AsyncSession, env: StepEnv, job_id: int, worker: str, now: datetime
) -> Prepared | None:
    """Decide the job ``worker`` claimed; returns the message to send, if there is one."""
    job = await repository.job(session, job_id)
    if job is None:
        return None
    await lock_suppliers(session, [job.supplier_id])
    job = await repository.job(session, job_id)  # re-read under the lock
    if job is None or job.state != JobState.RUNNING or job.claimed_by != worker:
        return None  # another worker took it over after this one's lease ran out
    if job.run_id is None:
        return await prepare_one_off(session=session, env=env, job=job, now=now)
    return await prepare_step(session=session, env=env, job=job, run_id=job.run_id, now=now)
