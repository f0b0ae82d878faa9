"""Acting on an account: a playbook started by hand goes through the triggers' enrolment (the
arm drawn and stored, one active run, refusals in words), and an account snooze holds the
automatic risk playbooks and team tasks, recording each hold, while hand-made actions go."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.interventions.conftest import risk_changed, seed_supplier
from tests.interventions.smtp_server import Collector
from tests.workspace.helpers import member
from wedsync_success.access.models import TeamUser
from wedsync_success.context import AppContext
from wedsync_success.db.unit_of_work import UnitOfWork
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEventType
from wedsync_success.interventions import service
from wedsync_success.interventions.channels.base import Category, Channel
from wedsync_success.interventions.enrolment import risk_triggered
from wedsync_success.interventions.models import (
    Arm,
    Intervention,
    JobState,
    PlaybookRun,
    StepJob,
    SuccessTask,
)
from wedsync_success.interventions.one_off import queue_one_off
from wedsync_success.interventions.playbooks import Band
from wedsync_success.interventions.schemas import ManualTaskIn
from wedsync_success.kit.errors import NotFound, ValidationFailed
from wedsync_success.workspace import service as workspace
from wedsync_success.workspace.models import AccountSnooze
from wedsync_success.workspace.schemas import SnoozeIn

Mailbox = tuple[Collector, Controller]


class Draw(random.Random):
    """A random source whose every draw is ``value`` (to land in a chosen arm)."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


async def _rows(ctx: AppContext, model: type[object]) -> list:  # type: ignore[type-arg]
    async with ctx.db.sessions() as session:
        return list((await session.scalars(select(model))).all())


async def _interventions(ctx: AppContext) -> list[Intervention]:
    async with ctx.db.sessions() as session:
        rows = await session.scalars(select(Intervention).order_by(Intervention.created_at))
        return list(rows.all())


async def _start(
    ctx: AppContext, supplier_id: uuid.UUID, by: TeamUser, key: str = "at_risk_rescue", **kw: object
) -> service.StartedRun:
    async with ctx.db.transaction() as session:
        return await service.start_playbook(
            session=session,
            catalog=ctx.interventions.catalog,
            supplier_id=supplier_id,
            playbook_key=key,
            by=by,
            now=ctx.clock(),
            **kw,  # type: ignore[arg-type]
        )


async def _snooze(ctx: AppContext, supplier_id: uuid.UUID, by: TeamUser, days: int = 7) -> None:
    async with ctx.db.transaction() as session:
        await workspace.snooze_alerts(
            session=session,
            supplier_id=supplier_id,
            by=by,
            body=SnoozeIn(days=days, reason="On honeymoon; agreed to talk on the 1st"),
            now=ctx.clock(),
        )


# --- starting a playbook by hand ------------------------------------------------------------


async def test_a_playbook_started_by_hand_draws_its_arm_and_says_who_started_it(
    ctx: AppContext,
) -> None:
    ana = await member(ctx, "Ana")
    supplier_id = await seed_supplier(ctx)
    treated = await _start(ctx, supplier_id, ana, rng=Draw(0.5))  # holdout 0.2: treated
    assert treated.arm == Arm.TREATMENT
    (run,) = await _rows(ctx, PlaybookRun)
    assert (run.id, run.arm, run.status) == (treated.run_id, "treatment", "active")
    assert run.trigger == {"event": "manual", "by": str(ana.id), "by_name": "Ana"}
    (job,) = await _rows(ctx, StepJob)
    assert (job.run_id, job.step_no, job.due_at) == (run.id, 0, ctx.clock())

    other = await seed_supplier(ctx)
    control = await _start(ctx, other, ana, rng=Draw(0.1))  # under the holdout: control
    assert control.arm == Arm.CONTROL


async def test_a_second_start_is_refused_saying_what_is_running(ctx: AppContext) -> None:
    ana = await member(ctx, "Ana")
    supplier_id = await seed_supplier(ctx)
    await _start(ctx, supplier_id, ana)
    with pytest.raises(ValidationFailed) as again:
        await _start(ctx, supplier_id, ana)
    assert "At-risk rescue is already running for this supplier (since 15 Jun 2026)" in str(
        again.value.message
    )
    assert again.value.details[0]["field"] == "playbook"
    # Manual starts skip the trigger's conditions and the re-enrolment window, not the
    # one-run-per-goal rule.
    assert len(await _rows(ctx, PlaybookRun)) == 1


async def test_refusals_for_unknown_free_plan_and_cancelled_suppliers(ctx: AppContext) -> None:
    ana = await member(ctx, "Ana")
    free = await seed_supplier(ctx, plan_tier="free", mrr_minor=0)
    with pytest.raises(ValidationFailed, match="not for this supplier"):
        await _start(ctx, free, ana)
    gone = await seed_supplier(
        ctx,
        subscription_status="cancelled",
        subscription_ended_at="2026-05-01T00:00:00+00:00",
        cancellation_reason="closing the business",
    )
    with pytest.raises(ValidationFailed, match="not a customer now"):
        await _start(ctx, gone, ana)
    with pytest.raises(ValidationFailed, match="not a configured playbook"):
        await _start(ctx, free, ana, key="no_such_playbook")
    with pytest.raises(NotFound):
        await _start(ctx, uuid.uuid4(), ana)
    assert await _rows(ctx, PlaybookRun) == []


async def test_two_starts_at_once_make_one_run(ctx: AppContext) -> None:
    ana = await member(ctx, "Ana")
    supplier_id = await seed_supplier(ctx)

    async def start() -> object:
        async def work(session: object) -> service.StartedRun:
            return await service.start_playbook(
                session=session,  # type: ignore[arg-type]
                catalog=ctx.interventions.catalog,
                supplier_id=supplier_id,
                playbook_key="at_risk_rescue",
                by=ana,
                now=ctx.clock(),
            )

        try:
            return await UnitOfWork(ctx.db).run(work)  # type: ignore[arg-type]
        except ValidationFailed as exc:
            return exc

    outcomes = await asyncio.gather(*(start() for _ in range(4)))
    started = [o for o in outcomes if isinstance(o, service.StartedRun)]
    refused = [o for o in outcomes if isinstance(o, ValidationFailed)]
    assert (len(started), len(refused)) == (1, 3)
    assert all("already running" in r.message or "same moment" in r.message for r in refused)
    (run,) = await _rows(ctx, PlaybookRun)
    assert run.id == started[0].run_id  # type: ignore[attr-defined]
    assert len(await _rows(ctx, StepJob)) == 1


# --- the account snooze ---------------------------------------------------------------------


async def test_a_snooze_holds_an_automatic_rescue_and_lets_it_go_when_it_ends(
    octx: AppContext, mailbox: Mailbox, clock: FakeClock
) -> None:
    ana = await member(octx, "Ana")
    supplier_id = await seed_supplier(octx)
    await _snooze(octx, supplier_id, ana, days=3)
    await risk_changed(octx, supplier_id)
    (run,) = await _rows(octx, PlaybookRun)  # enrolled (arm drawn) but held
    await octx.interventions.worker().work_once()
    assert mailbox[0].envelopes == []
    (held,) = await _interventions(octx)
    assert (held.status, held.channel, held.run_id) == ("held", "email", run.id)
    assert held.detail == (
        "alerts snoozed until 18 Jun 2026, 12:00 UTC by Ana: "
        "On honeymoon; agreed to talk on the 1st"
    )
    (job,) = await _rows(octx, StepJob)
    assert (job.state, job.due_at) == (JobState.PENDING, clock.now + timedelta(days=3))

    clock.advance(days=3)  # the snooze is over: decided again, and sent
    await octx.interventions.worker().work_once()
    assert len(mailbox[0].envelopes) == 1
    (sent,) = await _interventions(octx)
    assert (sent.id, sent.status) == (held.id, "sent")


async def test_ending_a_snooze_early_releases_what_it_held(
    octx: AppContext, mailbox: Mailbox, clock: FakeClock
) -> None:
    ana = await member(octx, "Ana")
    supplier_id = await seed_supplier(octx)
    await _snooze(octx, supplier_id, ana, days=30)
    await risk_changed(octx, supplier_id)
    await octx.interventions.worker().work_once()
    assert [i.status for i in await _interventions(octx)] == ["held"]
    clock.advance(hours=2)
    async with octx.db.transaction() as session:
        assert await workspace.end_snooze(session=session, supplier_id=supplier_id, now=clock.now)
    async with octx.db.transaction() as session:  # ending it twice: nothing left to end
        assert not await workspace.end_snooze(
            session=session, supplier_id=supplier_id, now=clock.now
        )
    (snooze,) = await _rows(octx, AccountSnooze)
    assert snooze.ended_at == clock.now
    (job,) = await _rows(octx, StepJob)
    assert job.due_at == clock.now
    await octx.interventions.worker().work_once()
    assert len(mailbox[0].envelopes) == 1
    assert [i.status for i in await _interventions(octx)] == ["sent"]


async def test_a_snooze_holds_the_team_task_of_a_billing_playbook_not_its_emails(
    octx: AppContext, mailbox: Mailbox, clock: FakeClock
) -> None:
    ana = await member(octx, "Ana")
    supplier_id = await seed_supplier(octx)
    await _snooze(octx, supplier_id, ana, days=30)
    async with octx.db.transaction() as session:
        await enqueue(
            session=session,
            events=[
                NewEvent(SuccessEventType.PAYMENT_FAILED, supplier_id, clock.now, {"amount": 4900})
            ],
            now=clock.now,
        )
    await octx.dispatcher.drain()
    worker = octx.interventions.worker()
    await worker.work_once()  # the email: the supplier must hear their card failed
    clock.advance(days=1)
    await worker.work_once()  # the in-app reminder
    clock.advance(days=3)
    await worker.work_once()  # the team's task: held by the snooze
    rows = await _interventions(octx)
    assert [(r.channel, r.status) for r in rows] == [
        ("email", "sent"),
        ("in_app", "sent"),
        ("task", "held"),
    ]
    assert rows[-1].detail is not None
    assert rows[-1].detail.startswith("alerts snoozed until 15 Jul 2026, 12:00 UTC by Ana")
    assert await _rows(octx, SuccessTask) == []
    assert len(mailbox[0].envelopes) == 1


async def test_what_a_person_does_is_not_held_by_a_snooze(
    octx: AppContext, mailbox: Mailbox, clock: FakeClock
) -> None:
    ana = await member(octx, "Ana")
    supplier_id = await seed_supplier(octx)
    await _snooze(octx, supplier_id, ana, days=30)
    await _start(octx, supplier_id, ana)  # by hand
    async with octx.db.transaction() as session:
        await queue_one_off(
            session=session,
            supplier_id=supplier_id,
            supplier_user_id=None,
            channel=Channel.EMAIL,
            category=Category.TRANSACTIONAL,
            subject="Quick question",
            body="Is the new price list right?",
            idempotency_key="hand-1",
            sent_by=ana.id,
            now=clock.now,
        )
    await octx.interventions.worker().work_once()
    assert sorted(r.status for r in await _interventions(octx)) == ["sent", "sent"]
    assert len(mailbox[0].envelopes) == 2
    async with octx.db.transaction() as session:  # a task written by hand is not held either
        await service.create_manual_task(
            session=session,
            supplier_id=supplier_id,
            body=ManualTaskIn(
                title="Call about the price list", due_on=clock.now.date(), owner_id=ana.id
            ),
            now=clock.now,
        )
    assert len(await _rows(octx, SuccessTask)) == 1


async def test_a_new_snooze_replaces_the_one_in_force(ctx: AppContext, clock: FakeClock) -> None:
    ana, ben = await member(ctx, "Ana"), await member(ctx, "Ben")
    supplier_id = await seed_supplier(ctx)
    await _snooze(ctx, supplier_id, ana, days=7)
    clock.advance(hours=1)
    await _snooze(ctx, supplier_id, ben, days=2)
    async with ctx.db.sessions() as session:
        active = await workspace.active_snooze(
            session=session, supplier_id=supplier_id, now=clock.now
        )
        later = await workspace.active_snooze(
            session=session, supplier_id=supplier_id, now=clock.now + timedelta(days=2)
        )
    assert active is not None
    assert (active.snoozed_by_name, active.until) == ("Ben", clock.now + timedelta(days=2))
    assert later is None  # over at its end (half-open)
    rows = sorted(await _rows(ctx, AccountSnooze), key=lambda s: s.starts_at)
    assert [r.ended_at for r in rows] == [clock.now, None]  # the first is kept, ended


@given(days=st.integers(min_value=-5, max_value=200), reason=st.text(max_size=520))
def test_a_snooze_is_1_to_90_days_with_a_reason(days: int, reason: str) -> None:
    try:
        snooze = SnoozeIn(days=days, reason=reason)
    except ValidationError as exc:
        fields = {str(e["loc"][0]) for e in exc.errors()}
        assert fields <= {"days", "reason"}
        assert ("days" in fields) == (not 1 <= days <= 90)
        return
    assert 1 <= snooze.days <= 90
    assert snooze.reason in reason  # only surrounding blank space is dropped
    assert snooze.reason.strip() == reason.strip()
    assert 1 <= len(snooze.reason) <= 500
    assert "\x00" not in snooze.reason


def test_which_playbooks_a_snooze_holds_whole(ctx: AppContext) -> None:
    catalog = ctx.interventions.catalog
    assert {p.key for p in catalog.playbooks if risk_triggered(p)} == {"at_risk_rescue"}
    payment = catalog.get("failed_payment_recovery")
    assert payment is not None
    by_churn = payment.model_copy(
        update={
            "trigger": payment.trigger.model_copy(
                update={
                    "when": payment.trigger.when.model_copy(
                        update={"churn_probability": Band(min=0.5)}
                    )
                }
            )
        }
    )
    assert risk_triggered(by_churn)  # a churn-probability condition makes it a risk alert
