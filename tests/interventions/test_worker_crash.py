"""Exactly one delivery per (run, step) when a worker *process* dies mid-step (``kill -9``)
or two worker processes run at once, on both backends.

The test process seeds suppliers and triggers the runs on the shared database; real
``python -m wedsync_success.cli worker`` subprocesses do the sending, on real time (the
fixture clock's 2026-06-15 is in the past, so the first steps are due; quiet hours are off).
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.helpers import free_port
from tests.interventions.conftest import (
    SMS_SID,
    SMS_TOKEN,
    intervention_settings,
    playbooks_config,
    risk_changed,
    seed_supplier,
)
from tests.interventions.sms_provider import sms_provider
from tests.interventions.smtp_server import Collector, HoldStage, MailStore, smtp_server
from tests.interventions.worker_process import WorkerProcess, wait_for, worker_env
from wedsync_success.config import DEFAULTS_DIR
from wedsync_success.context import AppContext, build_context
from wedsync_success.db.registry import metadata
from wedsync_success.interventions import repository
from wedsync_success.interventions.channels.email import message_id_for
from wedsync_success.interventions.channels.http_rules import header_key
from wedsync_success.interventions.jobs import prepare
from wedsync_success.interventions.models import (
    DeliveryStatus,
    Intervention,
    JobState,
    PlaybookRun,
    StepJob,
)
from wedsync_success.interventions.steps import idempotency_key

MAIL_FROM = "WedSync Success <success@wedsync.example>"
SMS_FROM = "+447911000001"


def rescue_playbooks(path: Path, *, steps: list[Any] | None = None) -> Path:
    """Only the at-risk rescue (so the workers' daily sweep enrols nobody else), optionally
    with other steps."""
    shipped = yaml.safe_load((DEFAULTS_DIR / "playbooks.yaml").read_text(encoding="utf-8"))
    (rescue,) = [p for p in shipped["playbooks"] if p["key"] == "at_risk_rescue"]
    rescue["holdout"] = 0.0
    if steps is not None:
        rescue["steps"] = steps
    return playbooks_config(path, playbooks=[rescue])


@contextlib.asynccontextmanager
async def trigger_context(
    database_url: str, clock: FakeClock, playbooks: Path
) -> AsyncIterator[AppContext]:
    """The test's own context on the emptied shared database: it enrols, it never sends."""
    context = build_context(
        intervention_settings(
            database_url,
            smtp_port=free_port(),
            sms_url=f"http://127.0.0.1:{free_port()}",
            playbooks=playbooks,
        ),
        clock=clock,
    )
    async with context.db.transaction() as session:
        for table in reversed(metadata.sorted_tables):
            await session.execute(table.delete())
    try:
        yield context
    finally:
        await context.close()


@contextlib.contextmanager
def mail_server(hold_at: HoldStage | None = None) -> Iterator[tuple[Collector, Controller]]:
    handler = Collector(hold_at=hold_at)
    controller = smtp_server(handler)
    try:
        yield handler, controller
    finally:
        handler.release.set()
        controller.stop()


@contextlib.contextmanager
def workers() -> Iterator[list[WorkerProcess]]:
    """Worker processes started in the block are stopped at its end, whatever happened."""
    started: list[WorkerProcess] = []
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()


async def trigger(ctx: AppContext) -> PlaybookRun:
    """One supplier enters at-risk: its rescue run and first job exist when this returns."""
    supplier_id = await seed_supplier(ctx)
    await risk_changed(ctx, supplier_id)
    async with ctx.db.sessions() as session:
        (run,) = (await session.scalars(select(PlaybookRun))).all()
    return run


async def step_row(ctx: AppContext, run_id: uuid.UUID, step_no: int) -> Intervention | None:
    async with ctx.db.sessions() as session:
        return await session.scalar(
            select(Intervention).where(
                Intervention.run_id == run_id, Intervention.step_no == step_no
            )
        )


def sent(ctx: AppContext, run_id: uuid.UUID, step_no: int = 0) -> Any:
    async def check() -> bool:
        row = await step_row(ctx, run_id, step_no)
        return row is not None and row.status == DeliveryStatus.SENT

    return check


async def pending_steps(ctx: AppContext, run_id: uuid.UUID) -> list[int]:
    async with ctx.db.sessions() as session:
        rows = await session.scalars(
            select(StepJob.step_no).where(
                StepJob.run_id == run_id, StepJob.state == JobState.PENDING
            )
        )
        return list(rows.all())


def email_env(database_url: str, playbooks: Path, port: int, lookup: str | None) -> dict[str, str]:
    extra = {"smtp_lookup_url": lookup} if lookup else {}
    return worker_env(
        database_url=database_url,
        playbooks=playbooks,
        smtp_url=f"smtp://127.0.0.1:{port}",
        mail_from=MAIL_FROM,
        **extra,
    )


def expected_message_id(run: PlaybookRun, step_no: int = 0) -> str:
    """The Message-ID of (run, step): derived from the idempotency key alone."""
    return message_id_for(idempotency_key(run.id, step_no), "wedsync.example").strip("<>")


async def kill_mid_email(
    *,
    database_url: str,
    clock: FakeClock,
    tmp_path: Path,
    hold_at: HoldStage,
    with_lookup: bool,
) -> tuple[PlaybookRun, Intervention, list[str], list[str], list[int]]:
    """Kill the first worker while the SMTP server holds its email at ``hold_at``, let a
    second one finish; returns the run, its first intervention, the Message-IDs the server
    stored (one per transmission), the lookups it was asked, and the run's pending steps."""
    playbooks = rescue_playbooks(tmp_path / "playbooks.yaml")
    with mail_server(hold_at) as (mail, controller), MailStore(mail.message_ids) as store:
        lookup = store.url if with_lookup else None
        env = email_env(database_url, playbooks, controller.port, lookup)
        async with trigger_context(database_url, clock, playbooks) as ctx:
            run = await trigger(ctx)
            with workers() as started:
                first = WorkerProcess("crash-1", env, tmp_path)
                started.append(first)
                await wait_for(
                    mail.holding.is_set, "the email to reach the SMTP server", workers=(first,)
                )
                stored_before = len(mail.envelopes)
                intent = await step_row(ctx, run.id, 0)
                assert intent is not None
                assert intent.status == DeliveryStatus.SENDING
                first.kill()
                mail.release.set()  # the server goes on; the client is gone
                assert stored_before == (1 if hold_at == "data" else 0)
                second = WorkerProcess("crash-2", env, tmp_path)
                started.append(second)
                await wait_for(
                    sent(ctx, run.id), "the second worker to record it", workers=(second,)
                )
            row = await step_row(ctx, run.id, 0)
            assert row is not None
            return run, row, mail.message_ids(), store.queries, await pending_steps(ctx, run.id)


async def test_killed_after_the_server_has_the_email_the_next_worker_records_it_unsent_again(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    run, row, stored, lookups, pending = await kill_mid_email(
        database_url=database_url, clock=clock, tmp_path=tmp_path, hold_at="data", with_lookup=True
    )
    message_id = expected_message_id(run)
    assert stored == [message_id]  # one transmission: reconciled, not re-sent
    assert lookups == [f'message-id:"{message_id}"']
    assert row.status == DeliveryStatus.SENT
    assert row.provider_id == f"<{message_id}>"
    assert pending == [2]  # the run moved on to the in-app step after its wait


async def test_killed_before_the_server_had_the_email_the_next_worker_sends_it_once(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    run, row, stored, lookups, pending = await kill_mid_email(
        database_url=database_url, clock=clock, tmp_path=tmp_path, hold_at="rcpt", with_lookup=True
    )
    message_id = expected_message_id(run)
    assert stored == [message_id]
    assert lookups == [f'message-id:"{message_id}"']  # NOT_SENT: then it sent
    assert (row.status, row.provider_id) == (DeliveryStatus.SENT, f"<{message_id}>")
    assert pending == [2]


async def test_without_a_lookup_the_next_worker_resends_under_the_same_message_id(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    """The documented limit: plain SMTP cannot be asked, so the message goes again under the
    same Message-ID, which receiving stores collapse; the row still records one send."""
    run, row, stored, lookups, pending = await kill_mid_email(
        database_url=database_url, clock=clock, tmp_path=tmp_path, hold_at="data", with_lookup=False
    )
    message_id = expected_message_id(run)
    assert stored == [message_id, message_id]  # two transmissions, one distinct Message-ID
    assert lookups == []
    assert (row.status, row.provider_id) == (DeliveryStatus.SENT, f"<{message_id}>")
    assert pending == [2]


SMS_FIRST = [
    {"channel": "sms", "text": "Hi {{ contact_name }}, could we help {{ supplier_name }}?"},
    {"wait": "2d"},
    {"channel": "email", "template": "at_risk_checkin"},
]


async def test_killed_after_the_sms_provider_has_it_the_next_worker_finds_it_by_key(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    playbooks = rescue_playbooks(tmp_path / "playbooks.yaml", steps=SMS_FIRST)
    with sms_provider(SMS_SID, SMS_TOKEN) as (url, provider):
        provider.hold_answer = threading.Event()
        env = worker_env(
            database_url=database_url,
            playbooks=playbooks,
            sms_url=url.replace("http://", f"http://{SMS_SID}:{SMS_TOKEN}@"),
            sms_from=SMS_FROM,
        )
        async with trigger_context(database_url, clock, playbooks) as ctx:
            run = await trigger(ctx)
            with workers() as started:
                first = WorkerProcess("crash-1", env, tmp_path)
                started.append(first)
                await wait_for(
                    lambda: len(provider.messages) == 1,
                    "the provider to store the SMS",
                    workers=(first,),
                )
                first.kill()
                provider.hold_answer.set()  # its answer goes to a dead socket
                second = WorkerProcess("crash-2", env, tmp_path)
                started.append(second)
                await wait_for(
                    sent(ctx, run.id), "the second worker to record it", workers=(second,)
                )
            row = await step_row(ctx, run.id, 0)
            pending = await pending_steps(ctx, run.id)
    (message,) = provider.messages
    assert provider.posts == 1  # reconciled through the listing, not posted again
    assert message.idempotency_key == header_key(idempotency_key(run.id, 0))
    assert row is not None
    assert (row.status, row.provider_id) == (DeliveryStatus.SENT, message.sid)
    assert pending == [2]


SUPPLIERS = 20


async def test_two_worker_processes_and_a_duplicate_trigger_send_each_step_once(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    """Both workers are up before the triggers arrive one supplier at a time (each twice), so
    they compete for the jobs as they appear: PostgreSQL claims with ``SKIP LOCKED``, SQLite
    has one writer. Nobody dies here, so the lease is long: it never runs out mid-send."""
    playbooks = rescue_playbooks(tmp_path / "playbooks.yaml")
    with mail_server() as (mail, controller), MailStore(mail.message_ids) as store:
        env = email_env(database_url, playbooks, controller.port, store.url)
        env["WEDSYNC_WORKER_LEASE_SECONDS"] = "120"
        async with trigger_context(database_url, clock, playbooks) as ctx:
            suppliers = [await seed_supplier(ctx) for _ in range(SUPPLIERS)]
            with workers() as started:
                started += [WorkerProcess(f"crash-{n}", env, tmp_path) for n in (1, 2)]
                for worker in started:
                    await wait_for(worker.ready, f"{worker.name} to start", workers=tuple(started))
                for supplier_id in suppliers:
                    await risk_changed(ctx, supplier_id)
                    await risk_changed(ctx, supplier_id, to="critical", previous="at_risk")

                async def all_sent() -> bool:
                    async with ctx.db.sessions() as session:
                        rows = await session.scalars(
                            select(Intervention.status).where(Intervention.step_no == 0)
                        )
                        return list(rows.all()) == [DeliveryStatus.SENT] * SUPPLIERS

                await wait_for(all_sent, f"{SUPPLIERS} emails recorded", workers=tuple(started))
            async with ctx.db.sessions() as session:
                runs = list((await session.scalars(select(PlaybookRun))).all())
                pending = list(
                    (
                        await session.scalars(
                            select(StepJob.step_no).where(StepJob.state == JobState.PENDING)
                        )
                    ).all()
                )
    stored = mail.message_ids()
    assert len(runs) == SUPPLIERS
    assert len(stored) == SUPPLIERS
    assert sorted(stored) == sorted(expected_message_id(run) for run in runs)
    assert pending == [2] * SUPPLIERS


async def test_the_lease_starts_again_when_the_intent_to_send_is_recorded(
    octx: AppContext, clock: FakeClock
) -> None:
    """A job that waited most of its lease for a send slot keeps its claim through the send,
    so no other worker reconciles (and re-sends) while the message is still on its way."""
    supplier_id = await seed_supplier(octx)
    await risk_changed(octx, supplier_id)
    env, lease = octx.interventions.worker(name="w1").env, timedelta(minutes=2)
    async with octx.db.transaction() as session:
        ((job_id, _),) = await repository.claim_jobs(
            session, now=clock(), lease=lease, worker="w1", limit=10
        )
    clock.advance(seconds=110)  # waiting for a send slot
    async with octx.db.transaction() as session:
        prepared = await prepare(
            session=session, env=env, job_id=job_id, worker="w1", lease=lease, now=clock()
        )
    assert prepared is not None
    clock.advance(seconds=30)  # a slow send: past the claim's lease, within the renewed one
    async with octx.db.transaction() as session:
        taken = await repository.claim_jobs(
            session, now=clock(), lease=lease, worker="w2", limit=10
        )
    assert taken == []
