"""Playbooks end to end: a trigger enrols, the worker sends through real servers, the gate
records every decision, and nothing is ever sent twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from tests.conftest import TEST_SECRET_KEY, FakeClock
from tests.interventions.conftest import (
    emptied_context,
    intervention_settings,
    playbooks_config,
    risk_changed,
    seed_supplier,
)
from tests.interventions.sms_provider import ProviderState
from tests.interventions.smtp_server import Collector
from wedsync_success.context import AppContext
from wedsync_success.events.models import OutboxEvent
from wedsync_success.interventions import repository
from wedsync_success.interventions.models import (
    Intervention,
    JobState,
    PlaybookRun,
    StepJob,
    SuccessTask,
)

Mailbox = tuple[Collector, Controller]
Sms = tuple[str, ProviderState]


async def _runs(ctx: AppContext) -> list[PlaybookRun]:
    async with ctx.db.sessions() as session:
        return list((await session.scalars(select(PlaybookRun))).all())


async def _interventions(ctx: AppContext) -> list[Intervention]:
    async with ctx.db.sessions() as session:
        rows = await session.scalars(select(Intervention).order_by(Intervention.created_at))
        return list(rows.all())


async def _pending_jobs(ctx: AppContext) -> list[StepJob]:
    async with ctx.db.sessions() as session:
        rows = await session.scalars(select(StepJob).where(StepJob.state == JobState.PENDING))
        return list(rows.all())


async def _event_types(ctx: AppContext) -> list[str]:
    async with ctx.db.sessions() as session:
        return list(
            (await session.scalars(select(OutboxEvent.event_type).order_by(OutboxEvent.id))).all()
        )


async def test_a_supplier_entering_at_risk_gets_the_check_in_email_once(
    octx: AppContext, mailbox: Mailbox, clock: FakeClock
) -> None:
    supplier_id = await seed_supplier(octx, business_name="Willow & Wren Photography")
    await risk_changed(octx, supplier_id)
    (run,) = await _runs(octx)
    assert (run.playbook_key, run.arm, run.status) == ("at_risk_rescue", "treatment", "active")

    stats = await octx.interventions.worker(name="w1").work_once()
    assert stats.sent == 1
    email = mailbox[0].only_email()
    assert "Willow & Wren Photography" in email.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/")
    (sent,) = await _interventions(octx)
    assert (sent.status, sent.channel, sent.step_no) == ("sent", "email", 0)
    assert sent.provider_id == email["Message-ID"]
    (next_job,) = await _pending_jobs(octx)
    assert (next_job.step_no, next_job.due_at) == (2, clock.now + timedelta(days=2))
    await octx.dispatcher.drain()
    types = await _event_types(octx)
    assert types.count("intervention.enrolled") == 1
    assert types.count("intervention.sent") == 1

    assert (await octx.interventions.worker().work_once()).claimed == 0
    assert len(mailbox[0].envelopes) == 1


async def test_the_same_trigger_twice_enrols_and_sends_once(
    octx: AppContext, mailbox: Mailbox
) -> None:
    supplier_id = await seed_supplier(octx)
    await risk_changed(octx, supplier_id)
    await risk_changed(octx, supplier_id, to="critical", previous="watch")
    assert len(await _runs(octx)) == 1
    await octx.interventions.worker().work_once()
    await octx.interventions.worker().work_once()
    assert len(mailbox[0].envelopes) == 1


async def test_the_rescue_works_through_its_steps_skipping_what_is_no_longer_needed(
    octx: AppContext, mailbox: Mailbox, sms: Sms, clock: FakeClock
) -> None:
    supplier_id = await seed_supplier(octx)
    await risk_changed(octx, supplier_id)
    worker = octx.interventions.worker()
    await worker.work_once()  # the email, not opened
    clock.advance(days=2)
    await worker.work_once()  # the in-app coach: the email went unread
    clock.advance(days=5)
    await worker.work_once()  # the SMS: still at risk
    await worker.work_once()  # the task for the account owner
    rows = await _interventions(octx)
    assert [(r.channel, r.status) for r in rows] == [
        ("email", "sent"),
        ("in_app", "sent"),
        ("sms", "sent"),
        ("task", "sent"),
    ]
    (message,) = sms[1].messages
    assert message.to == "+447911123456"
    assert message.idempotency_key == rows[2].idempotency_key
    async with octx.db.sessions() as session:
        (task,) = (await session.scalars(select(SuccessTask))).all()
    assert (task.reason, task.priority, task.status) == ("at_risk_call", "high", "open")
    (window,) = await _pending_jobs(octx)
    assert window.step_no == 6  # the goal window after the last step


async def test_a_recovered_supplier_leaves_the_run_as_a_success(
    octx: AppContext, mailbox: Mailbox, clock: FakeClock
) -> None:
    supplier_id = await seed_supplier(octx)
    await risk_changed(octx, supplier_id)
    await octx.interventions.worker().work_once()
    clock.advance(days=1)
    await risk_changed(octx, supplier_id, to="watch", previous="at_risk")
    (run,) = await _runs(octx)
    assert (run.status, run.end_reason) == ("goal_reached", "goal reached")
    assert await _pending_jobs(octx) == []
    await octx.dispatcher.drain()
    assert "intervention.goal_reached" in await _event_types(octx)


async def test_the_control_arm_is_tracked_step_by_step_and_sent_nothing(
    database_url: str,
    clock: FakeClock,
    mailbox: Mailbox,
    sms: Sms,
    tmp_path: Path,
) -> None:
    path = playbooks_config(tmp_path / "p.yaml")
    text = path.read_text(encoding="utf-8").replace("holdout: 0.0", "holdout: 0.5", 1)
    path.write_text(text, encoding="utf-8")
    settings = intervention_settings(
        database_url, smtp_port=mailbox[1].port, sms_url=sms[0], playbooks=path
    )
    async with emptied_context(settings, clock) as ctx:
        suppliers = [await seed_supplier(ctx) for _ in range(24)]
        for supplier_id in suppliers:
            await risk_changed(ctx, supplier_id)
        await ctx.interventions.worker().work_once()
        runs = await _runs(ctx)
        control = {r.supplier_id for r in runs if r.arm == "control"}
        treated = {r.supplier_id for r in runs if r.arm == "treatment"}
        assert control
        assert treated
        assert len(runs) == 24
        rows = await _interventions(ctx)
        assert {r.supplier_id for r in rows if r.status == "suppressed"} == control
        assert {r.supplier_id for r in rows if r.status == "sent"} == treated
        assert len(mailbox[0].envelopes) == len(treated)
        assert len(await _pending_jobs(ctx)) == 24  # both arms wait for the next step alike


async def test_two_workers_at_once_never_send_one_step_twice(
    octx: AppContext, mailbox: Mailbox
) -> None:
    suppliers = [await seed_supplier(octx) for _ in range(12)]
    for supplier_id in suppliers:
        await risk_changed(octx, supplier_id)
    first = octx.interventions.worker(name="first")
    second = type(first)(
        db=octx.db,
        env=first.env,
        adapters=first.adapters,  # the same channels, another claimant
        clock=octx.clock,
        name="second",
    )
    results = await asyncio.gather(first.work_once(), second.work_once())
    assert sum(r.sent for r in results) == 12
    ids = [e["Message-ID"] for e in mailbox[0].emails()]
    assert len(ids) == len(set(ids)) == 12


async def test_the_frequency_cap_records_a_capped_message_and_moves_on(
    database_url: str, clock: FakeClock, mailbox: Mailbox, sms: Sms, tmp_path: Path
) -> None:
    path = playbooks_config(tmp_path / "p.yaml", frequency_cap={"messages": 1, "per_days": 7})
    settings = intervention_settings(
        database_url, smtp_port=mailbox[1].port, sms_url=sms[0], playbooks=path
    )
    async with emptied_context(settings, clock) as ctx:
        supplier_id = await seed_supplier(ctx)
        await risk_changed(ctx, supplier_id)
        worker = ctx.interventions.worker()
        await worker.work_once()  # the email: the one marketing message of the week
        clock.advance(days=2)
        await worker.work_once()  # the in-app coach would be the second
        rows = await _interventions(ctx)
        assert [(r.channel, r.status) for r in rows] == [("email", "sent"), ("in_app", "capped")]
        assert "frequency cap" in (rows[1].detail or "")
        (next_job,) = await _pending_jobs(ctx)
        assert next_job.step_no == 4  # the run went on to the SMS step


async def test_quiet_hours_hold_a_message_until_the_morning_in_the_suppliers_zone(
    database_url: str, mailbox: Mailbox, sms: Sms, tmp_path: Path
) -> None:
    clock = FakeClock(datetime(2026, 6, 15, 21, 30, tzinfo=UTC))  # 22:30 in London
    quiet = {"start": "21:00", "end": "08:00", "channels": ["email", "sms"]}
    path = playbooks_config(tmp_path / "p.yaml", quiet_hours=quiet)
    settings = intervention_settings(
        database_url, smtp_port=mailbox[1].port, sms_url=sms[0], playbooks=path
    )
    async with emptied_context(settings, clock) as ctx:
        supplier_id = await seed_supplier(ctx)
        await risk_changed(ctx, supplier_id)
        worker = ctx.interventions.worker()
        await worker.work_once()
        (held,) = await _interventions(ctx)
        assert held.status == "held"
        (job,) = await _pending_jobs(ctx)
        assert job.due_at == datetime(2026, 6, 16, 7, 0, tzinfo=UTC)  # 08:00 BST
        assert mailbox[0].envelopes == []
        clock.now = job.due_at
        await worker.work_once()
        (sent,) = await _interventions(ctx)
        assert sent.status == "sent"
        assert len(mailbox[0].envelopes) == 1


async def test_a_supplier_that_churned_leaves_its_runs(
    octx: AppContext, mailbox: Mailbox, clock: FakeClock
) -> None:
    supplier_id = await seed_supplier(
        octx,
        subscription_status="cancelled",
        subscription_ended_at=(clock.now + timedelta(hours=1)).isoformat(),
    )
    await risk_changed(octx, supplier_id)
    clock.advance(hours=2)
    await octx.interventions.worker().work_once()
    (run,) = await _runs(octx)
    assert (run.status, run.end_reason) == ("exited", "the supplier is no longer a customer")
    assert mailbox[0].envelopes == []


async def test_a_cancelled_supplier_is_not_enrolled_and_free_plans_are_outside_the_audience(
    octx: AppContext, clock: FakeClock
) -> None:
    gone = await seed_supplier(
        octx,
        subscription_status="cancelled",
        subscription_ended_at=(clock.now - timedelta(days=1)).isoformat(),
    )
    free = await seed_supplier(octx, plan_tier="free", mrr_minor=0)
    await risk_changed(octx, gone)
    await risk_changed(octx, free)
    assert await _runs(octx) == []


async def test_reenrolment_waits_for_its_window(
    octx: AppContext, mailbox: Mailbox, clock: FakeClock
) -> None:
    supplier_id = await seed_supplier(octx)
    await risk_changed(octx, supplier_id)
    await risk_changed(octx, supplier_id, to="watch", previous="at_risk")  # goal reached
    clock.advance(days=10)
    await risk_changed(octx, supplier_id)  # 10 days later: inside the 45-day window
    assert len(await _runs(octx)) == 1
    clock.advance(days=40)
    await risk_changed(octx, supplier_id, to="healthy", previous="at_risk")
    await risk_changed(octx, supplier_id)
    assert len(await _runs(octx)) == 2


async def test_a_temporary_smtp_failure_is_retried_and_then_sent(
    octx: AppContext, mailbox: Mailbox, clock: FakeClock
) -> None:
    supplier_id = await seed_supplier(octx)
    await risk_changed(octx, supplier_id)
    mailbox[0].data_reply = "451 4.3.0 Try again later"
    worker = octx.interventions.worker()
    await worker.work_once()
    (row,) = await _interventions(octx)
    assert row.status == "retrying"
    assert "451" in (row.detail or "")
    mailbox[0].data_reply = None
    assert (await worker.work_once()).claimed == 0  # backing off
    clock.advance(minutes=2)
    await worker.work_once()
    (row,) = await _interventions(octx)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(mailbox[0].envelopes) == 1


async def test_without_an_email_channel_the_step_is_recorded_as_failed_and_the_run_goes_on(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    from wedsync_success.config import Settings

    settings = Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        playbooks_config=playbooks_config(tmp_path / "p.yaml"),
    )
    async with emptied_context(settings, clock) as ctx:
        supplier_id = await seed_supplier(ctx)
        await risk_changed(ctx, supplier_id)
        await ctx.interventions.worker().work_once()
        (row,) = await _interventions(ctx)
        assert (row.status, row.detail) == ("failed", "no email channel is configured")
        assert len(await _pending_jobs(ctx)) == 1


@pytest.mark.parametrize("count", [3])
async def test_every_decision_is_counted_once_in_the_outbox(
    octx: AppContext, mailbox: Mailbox, count: int
) -> None:
    suppliers = [await seed_supplier(octx) for _ in range(count)]
    for supplier_id in suppliers:
        await risk_changed(octx, supplier_id)
    await octx.interventions.worker().work_once()
    await octx.dispatcher.drain()
    async with octx.db.sessions() as session:
        sent = await session.scalar(
            select(func.count()).where(OutboxEvent.event_type == "intervention.sent")
        )
    assert sent == count


async def test_a_result_recorded_twice_is_recorded_and_announced_once(
    octx: AppContext, mailbox: Mailbox
) -> None:
    from wedsync_success.interventions.channels.base import SendResult
    from wedsync_success.interventions.jobs import prepare
    from wedsync_success.interventions.steps import record_sent

    supplier_id = await seed_supplier(octx)
    await risk_changed(octx, supplier_id)
    worker = octx.interventions.worker(name="w1")
    async with octx.db.transaction() as session:
        (job_id, _), *_ = await repository.claim_jobs(
            session, now=octx.clock(), lease=timedelta(minutes=2), worker="w1", limit=1
        )
    async with octx.db.transaction() as session:
        prepared = await prepare(
            session=session,
            env=worker.env,
            job_id=job_id,
            worker="w1",
            now=octx.clock(),
            lease=timedelta(minutes=2),
        )
    assert prepared is not None
    result = SendResult(provider_id="<abc@wedsync.example>")
    for _ in range(2):  # the worker that took over an expired lease records it too
        async with octx.db.transaction() as session:
            await record_sent(
                session=session, env=worker.env, prepared=prepared, result=result, now=octx.clock()
            )
    await octx.dispatcher.drain()
    assert (await _event_types(octx)).count("intervention.sent") == 1
    assert len(await _pending_jobs(octx)) == 1


async def test_an_unsubscribed_channel_is_skipped_and_recorded_and_the_run_goes_on(
    octx: AppContext, mailbox: Mailbox, clock: FakeClock
) -> None:
    from wedsync_success.interventions.channels.base import Category, Channel
    from wedsync_success.interventions.preferences import set_preference
    from wedsync_success.suppliers.models import SupplierUser

    supplier_id = await seed_supplier(octx)
    async with octx.db.transaction() as session:
        user_id = await session.scalar(
            select(SupplierUser.id).where(SupplierUser.supplier_id == supplier_id)
        )
        assert user_id is not None
        await set_preference(
            session=session,
            supplier_user_id=user_id,
            channel=Channel.EMAIL,
            category=Category.MARKETING,
            subscribed=False,
            source="unsubscribe_link",
            now=clock.now,
        )
    await risk_changed(octx, supplier_id)
    await octx.interventions.worker().work_once()
    (row,) = await _interventions(octx)
    assert (row.channel, row.status) == ("email", "unsubscribed")
    assert mailbox[0].envelopes == []
    (next_job,) = await _pending_jobs(octx)
    assert next_job.step_no == 2  # the in-app coach still comes


async def test_playbooks_sharing_a_goal_do_not_stack_and_the_higher_priority_wins(
    database_url: str, clock: FakeClock, mailbox: Mailbox, sms: Sms, tmp_path: Path
) -> None:
    import yaml

    path = playbooks_config(tmp_path / "p.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rival = dict(data["playbooks"][0], key="gentle_rescue", priority=5, name="Gentle rescue")
    data["playbooks"].append(rival)  # same trigger, same goal group, lower priority
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    settings = intervention_settings(
        database_url, smtp_port=mailbox[1].port, sms_url=sms[0], playbooks=path
    )
    async with emptied_context(settings, clock) as ctx:
        supplier_id = await seed_supplier(ctx)
        await risk_changed(ctx, supplier_id)
        await risk_changed(ctx, supplier_id, to="critical", previous="watch")
        assert [r.playbook_key for r in await _runs(ctx)] == ["at_risk_rescue"]


async def test_a_milestone_goal_ends_the_onboarding_nudge_early(
    octx: AppContext, mailbox: Mailbox, clock: FakeClock
) -> None:
    from wedsync_success.events.outbox import enqueue
    from wedsync_success.events.types import NewEvent, SuccessEventType

    supplier_id = await seed_supplier(
        octx, signed_up_at=(clock.now - timedelta(days=8)).isoformat()
    )
    worker = octx.interventions.worker()
    assert await worker.sweep_daily() == 1
    await worker.work_once()  # the nudge email
    async with octx.db.transaction() as session:
        await enqueue(
            session=session,
            events=[
                NewEvent(
                    SuccessEventType.MILESTONE_ACHIEVED,
                    supplier_id,
                    clock.now,
                    {"milestone": "first_form_created", "name": "First form created"},
                )
            ],
            now=clock.now,
        )
    await octx.dispatcher.drain()
    (run,) = [r for r in await _runs(octx) if r.playbook_key == "onboarding_nudge"]
    assert run.status == "goal_reached"
    assert await _pending_jobs(octx) == []
