"""Working one claimed job: a run's step or a one-off message, under the supplier's lock."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db.locks import lock_suppliers
from wedsync_success.interventions import repository
from wedsync_success.interventions.models import JobState
from wedsync_success.interventions.one_off import prepare_one_off
from wedsync_success.interventions.steps import Prepared, StepEnv, prepare_step


async def prepare(
    *,
    session: AsyncSession,
    env: StepEnv,
    job_id: int,
    worker: str,
    lease: timedelta,
    now: datetime,
) -> Prepared | None:
    """Decide the job ``worker`` claimed; returns the message to send, if there is one.

    The lease starts again here, in the transaction that records the intent to send: a job
    may have waited out most of its lease for a send slot, and a lease that ran out during
    the send would let another worker reconcile before the message arrived, and send it too.
    """
    job = await repository.job(session, job_id)
    if job is None:
        return None
    await lock_suppliers(session, [job.supplier_id])
    job = await repository.job(session, job_id)  # re-read under the lock
    if job is None or job.state != JobState.RUNNING or job.claimed_by != worker:
        return None  # another worker took it over after this one's lease ran out
    job.lease_until = now + lease
    if job.run_id is None:
        return await prepare_one_off(session=session, env=env, job=job, now=now)
    return await prepare_step(session=session, env=env, job=job, run_id=job.run_id, now=now)
