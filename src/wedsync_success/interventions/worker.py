"""The intervention worker: claims due step jobs, decides them, sends, records.

The API process runs one by default; ``wedsync-success worker`` runs more in production.
Jobs are durable rows, so a restart loses nothing: a job whose worker died is claimed again
once its lease has run out, and a send it left half-recorded is reconciled (see
:mod:`.steps`). Several workers share the work through ``FOR UPDATE SKIP LOCKED`` claims
(PostgreSQL) and never send one (run, step) twice: the idempotency key is unique.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from prometheus_client import Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db import Database
from wedsync_success.db.unit_of_work import UnitOfWork
from wedsync_success.interventions import enrolment, repository
from wedsync_success.interventions.channels.base import (
    ChannelAdapter,
    DeliveryError,
    PermanentFailure,
    ReconcileOutcome,
    SendResult,
)
from wedsync_success.interventions.jobs import prepare
from wedsync_success.interventions.models import SweepMark
from wedsync_success.interventions.steps import (
    Prepared,
    StepEnv,
    record_failure,
    record_sent,
)
from wedsync_success.kit.clock import Clock
from wedsync_success.kit.due_loop import DueLoop

log = structlog.get_logger(__name__)

SENDS = Counter(
    "wedsync_intervention_sends_total",
    "Messages handed to a channel adapter, by channel and result.",
    ["channel", "result"],
)
SEND_SECONDS = Histogram(
    "wedsync_intervention_send_seconds",
    "Time a channel adapter took to accept a message.",
    ["channel"],
)
DAILY_SWEEP = "schedule.daily"


@dataclass(frozen=True)
class WorkStats:
    claimed: int
    sent: int


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class InterventionWorker(DueLoop):
    """Works the due steps of every run, in batches, a few sends at a time."""

    error_event = "intervention_worker_error"

    def __init__(
        self,
        *,
        db: Database,
        env: StepEnv,
        adapters: Mapping[str, ChannelAdapter],
        clock: Clock,
        after_commit: Callable[[], None] | None = None,
        name: str | None = None,
        lease: timedelta = timedelta(minutes=2),
        batch_size: int = 100,
        concurrency: int = 8,
    ) -> None:
        self._db = db
        self.env = env
        self.adapters = adapters
        super().__init__(clock=clock)
        self._after_commit = after_commit
        self.name = name or worker_name()
        self._lease = lease
        self._batch_size = batch_size
        self._slots = asyncio.Semaphore(concurrency)

    def _uow(self) -> UnitOfWork:
        return UnitOfWork(self._db, after_commit=self._after_commit)

    async def work_once(self) -> WorkStats:
        """Claim one batch of due jobs and work them."""
        now = self._clock()
        async with self._db.sessions() as reading:
            if not await repository.any_due(reading, now):
                return WorkStats(0, 0)

        async def claim(session: AsyncSession) -> list[tuple[int, uuid.UUID]]:
            return await repository.claim_jobs(
                session,
                now=now,
                lease=self._lease,
                worker=self.name,
                limit=self._batch_size,
            )

        claimed = await self._uow().run(claim)
        if not claimed:
            return WorkStats(0, 0)
        results = await asyncio.gather(*(self._work(job_id) for job_id, _ in claimed))
        return WorkStats(len(claimed), sum(results))

    async def _work(self, job_id: int) -> int:
        async with self._slots:
            try:
                return await self._work_job(job_id)
            except Exception:  # the job stays claimed; its lease runs out and it is retried
                log.exception("intervention_job_failed", job_id=job_id)
                return 0

    async def _work_job(self, job_id: int) -> int:
        prepared = await self._uow().run(
            lambda session: prepare(
                session=session,
                env=self.env,
                job_id=job_id,
                worker=self.name,
                lease=self._lease,
                now=self._clock(),
            )
        )
        if prepared is None:
            return 0
        adapter = self.adapters.get(prepared.adapter)
        failure: DeliveryError | None = None
        try:
            if adapter is None:
                raise PermanentFailure(f"no {prepared.adapter} channel is configured")
            result = await self._deliver(adapter, prepared)
        except DeliveryError as exc:
            failure = exc
        channel = prepared.message.channel
        if failure is not None:
            SENDS.labels(
                channel=channel, result="temporary" if failure.temporary else "failed"
            ).inc()
            await self._uow().run(
                lambda session: record_failure(
                    session=session,
                    env=self.env,
                    prepared=prepared,
                    error=failure,
                    now=self._clock(),
                )
            )
            return 0
        SENDS.labels(channel=channel, result="sent").inc()
        await self._uow().run(
            lambda session: record_sent(
                session=session, env=self.env, prepared=prepared, result=result, now=self._clock()
            )
        )
        return 1

    async def _deliver(self, adapter: ChannelAdapter, prepared: Prepared) -> SendResult:
        if prepared.reconcile:
            found = await adapter.reconcile(prepared.message)
            log.info(
                "intervention_reconciled",
                key=prepared.message.idempotency_key,
                outcome=str(found.outcome),
            )
            if found.outcome == ReconcileOutcome.DELIVERED and found.provider_id:
                return SendResult(provider_id=found.provider_id, detail={"reconciled": True})
        with SEND_SECONDS.labels(channel=prepared.message.channel).time():
            return await adapter.send(prepared.message)

    async def sweep_daily(self) -> int:
        """Run the daily trigger sweep once per UTC day, whichever worker gets there first."""
        now = self._clock()
        async with self._db.sessions() as reading:  # the common case: done today, no write
            mark = await repository.sweep_mark(reading, DAILY_SWEEP)
            if mark is not None and mark.last_day >= now.date():
                return 0

        async def sweep(session: AsyncSession) -> int:
            mark = await repository.sweep_mark(session, DAILY_SWEEP)
            if mark is not None and mark.last_day >= now.date():
                return 0
            if mark is None:
                session.add(SweepMark(name=DAILY_SWEEP, last_day=now.date()))
            else:
                mark.last_day = now.date()
            await session.flush()
            candidates = await enrolment.sweep_candidates(
                session=session, catalog=self.env.catalog, now=now
            )
            enrolled = await enrolment.enrol(
                session=session, catalog=self.env.catalog, candidates=candidates, now=now
            )
            return len(enrolled)

        return await self._uow().run(sweep)

    async def round(self) -> bool:
        await self.sweep_daily()
        return (await self.work_once()).claimed >= self._batch_size

    async def next_due(self) -> datetime | None:
        async with self._db.sessions() as session:
            return await repository.next_due(session)
