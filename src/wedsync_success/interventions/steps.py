"""Working one step of one run: decide, record, and hand a message to the worker to send.

Everything here runs inside one transaction that has locked the supplier, so two workers
can never decide for one supplier at once (the cap counts stay right). A message to send is
first recorded as ``sending`` under its idempotency key and committed; only then does the
worker call the adapter, and a second transaction records the result. A worker that dies in
between leaves the ``sending`` row behind: the next claim of the job reconciles it with the
provider instead of sending blindly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access import repository as access_repository
from wedsync_success.db.locks import lock_suppliers
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEventType
from wedsync_success.health import repository as health_repository
from wedsync_success.health.config import HealthConfig
from wedsync_success.interventions import inapp, preferences, repository, team_tasks
from wedsync_success.interventions.channels.base import (
    Category,
    Channel,
    DeliveryError,
    OutgoingMessage,
    Recipient,
    SendResult,
)
from wedsync_success.interventions.channels.templates import RenderedEmail
from wedsync_success.interventions.enrolment import is_manual, risk_triggered
from wedsync_success.interventions.links import TrackingLinks, list_unsubscribe_headers
from wedsync_success.interventions.models import (
    Arm,
    DeliveryStatus,
    Intervention,
    JobState,
    PlaybookRun,
    RunStatus,
    StepJob,
)
from wedsync_success.interventions.personalisation import (
    PRODUCT_LINKS,
    Personalisation,
    personalise,
    render_text,
)
from wedsync_success.interventions.playbooks import (
    ChannelStep,
    EmailStep,
    InAppStep,
    Playbook,
    PlaybookFile,
    SmsStep,
    TaskStep,
    WaitStep,
    WebhookStep,
)
from wedsync_success.interventions.policy import quiet_until, supplier_zone
from wedsync_success.interventions.runs import advance, end_run, goal_reached
from wedsync_success.milestones.definitions import MilestoneCatalog
from wedsync_success.suppliers import repository as suppliers_repository
from wedsync_success.suppliers.models import Supplier, SupplierUser
from wedsync_success.suppliers.subscriptions import is_active_at
from wedsync_success.workspace import repository as workspace_repository
from wedsync_success.workspace.models import AccountSnooze

RECOVERED_LEVELS = ("healthy", "watch")


EmailRenderer = Callable[[str, Mapping[str, Any]], RenderedEmail]


@dataclass(frozen=True)
class StepEnv:
    """What deciding a step needs besides the database."""

    catalog: PlaybookFile
    health: HealthConfig
    milestones: MilestoneCatalog
    render_email: EmailRenderer
    links: TrackingLinks
    product_url: str
    """The supplier-facing WedSync app that email links lead to."""
    max_attempts: int = 6
    retry_base: timedelta = timedelta(minutes=1)


@dataclass(frozen=True)
class Prepared:
    """A message recorded as ``sending``, for the worker to hand to its adapter."""

    job_id: int
    intervention_id: uuid.UUID
    message: OutgoingMessage
    adapter: str
    """``email``, ``sms`` or ``webhook:<target>``."""
    reconcile: bool
    """The row was already ``sending``: a worker died mid-send; ask the provider first."""


def idempotency_key(run_id: uuid.UUID, step_no: int) -> str:
    return f"run:{run_id}:{step_no}"


async def prepare_step(
    *, session: AsyncSession, env: StepEnv, job: StepJob, run_id: uuid.UUID, now: datetime
) -> Prepared | None:
    """Decide a run's step (the job is claimed, the supplier locked); returns the message
    to send, if there is one."""
    run = await repository.run(session, run_id)
    playbook = env.catalog.get(run.playbook_key) if run else None
    if run is None or run.status != RunStatus.ACTIVE:
        job.state = JobState.DONE
        return None
    if playbook is None:
        await end_run(session, run, RunStatus.EXITED, "the playbook is no longer configured", now)
        return None
    supplier = (await suppliers_repository.by_ids(session, [run.supplier_id])).get(run.supplier_id)
    if supplier is None or not is_active_at(
        started_at=supplier.subscription_started_at,
        ended_at=supplier.subscription_ended_at,
        moment=now,
    ):
        await end_run(session, run, RunStatus.EXITED, "the supplier is no longer a customer", now)
        return None
    risk = (await health_repository.risk_levels(session, [supplier.id])).get(supplier.id)
    if await goal_reached(session, playbook.goal, supplier.id, risk):
        await end_run(session, run, RunStatus.GOAL_REACHED, "goal reached", now)
        return None
    if job.step_no >= len(playbook.steps):  # the goal window after the last step is over
        await end_run(session, run, RunStatus.COMPLETED, "all steps done", now)
        return None
    step = playbook.steps[job.step_no]
    assert not isinstance(step, WaitStep)  # waits are folded into due_at
    key = idempotency_key(run.id, job.step_no)
    row = await repository.intervention_by_key(session, key)
    if row is not None and row.status not in (
        DeliveryStatus.SENDING,
        DeliveryStatus.RETRYING,
        DeliveryStatus.HELD,
    ):
        await advance(session, job, run, playbook, now)  # decided before; nothing to redo
        return None
    decision = _Decision(session, env, job, run, playbook, supplier, risk, key, row, now)
    return await decision.make(step)


@dataclass
class _Decision:
    session: AsyncSession
    env: StepEnv
    job: StepJob
    run: PlaybookRun
    playbook: Playbook
    supplier: Supplier
    risk: str | None
    key: str
    row: Intervention | None
    now: datetime

    def __post_init__(self) -> None:
        self.resumed_at_start = self.resumed

    @property
    def resumed(self) -> bool:
        """A worker recorded the intent to send and died before recording the result."""
        return self.row is not None and self.row.status == DeliveryStatus.SENDING

    async def make(self, step: ChannelStep) -> Prepared | None:
        if self.resumed:
            return await self._resume(step)
        snooze = await self._snoozed(step)
        if snooze is not None:
            return await self._hold(step, snooze)
        skip = await self._skip_reason(step)
        if skip:
            return await self._close(step, DeliveryStatus.SKIPPED, skip)
        if self.run.arm == Arm.CONTROL:
            return await self._close(step, DeliveryStatus.SUPPRESSED, "control arm: not sent")
        contact, facts = await self._personalise()
        if isinstance(step, TaskStep):
            return await self._task(step, facts)
        if isinstance(step, WebhookStep):
            return await self._send(step, self._webhook(step, facts), f"webhook:{step.target}")
        if contact is None:
            return await self._close(
                step, DeliveryStatus.UNDELIVERABLE, "the supplier has no users"
            )
        channel = Channel(step.channel)
        verdict = await gate(
            session=self.session,
            env=self.env,
            supplier=self.supplier,
            contact=contact,
            channel=channel,
            category=step.category,
            now=self.now,
        )
        if isinstance(verdict, Refusal):
            return await self._close(step, verdict.status, verdict.detail)
        if isinstance(step, InAppStep):
            return await self._in_app(step, contact, facts)
        if verdict is not None:
            self._record(step, DeliveryStatus.HELD, f"quiet hours until {verdict.isoformat()}")
            self.job.state, self.job.due_at, self.job.lease_until = JobState.PENDING, verdict, None
            await self.session.flush()
            return None
        if isinstance(step, EmailStep):
            return await self._send(step, self._email(step, contact, facts), "email")
        assert isinstance(step, SmsStep)
        return await self._send(step, self._sms(step, contact, facts), "sms")

    async def _resume(self, step: ChannelStep) -> Prepared | None:
        """Rebuild the same message (same key) without deciding again: it may have gone."""
        contact, facts = await self._personalise()
        if isinstance(step, WebhookStep):
            return await self._send(step, self._webhook(step, facts), f"webhook:{step.target}")
        if contact is not None and isinstance(step, EmailStep):
            return await self._send(step, self._email(step, contact, facts), "email")
        if contact is not None and isinstance(step, SmsStep):
            return await self._send(step, self._sms(step, contact, facts), "sms")
        return await self._close(step, DeliveryStatus.FAILED, "the recipient disappeared mid-send")

    async def _snoozed(self, step: ChannelStep) -> AccountSnooze | None:
        """The account snooze holding this step: every step of an automatic risk-triggered
        run, and the team task of any automatic run (a run started by hand is never held)."""
        if is_manual(self.run.trigger) or not (
            risk_triggered(self.playbook) or isinstance(step, TaskStep)
        ):
            return None
        snoozes = await workspace_repository.active_snoozes(
            self.session, [self.supplier.id], self.now
        )
        return snoozes.get(self.supplier.id)

    async def _hold(self, step: ChannelStep, snooze: AccountSnooze) -> Prepared | None:
        """Record the step as held by the snooze and decide it again when the snooze ends
        (ending it early makes the step due at once)."""
        names = await access_repository.names_of(
            self.session, [snooze.snoozed_by] if snooze.snoozed_by else []
        )
        by = names.get(snooze.snoozed_by, "a team member") if snooze.snoozed_by else "a team member"
        self._record(
            step,
            DeliveryStatus.HELD,
            f"alerts snoozed until {snooze.until:%d %b %Y, %H:%M} UTC by {by}: {snooze.reason}",
        )
        self.job.state, self.job.due_at, self.job.lease_until = (
            JobState.PENDING,
            snooze.until,
            None,
        )
        await self.session.flush()
        return None

    async def _personalise(self) -> tuple[SupplierUser | None, Personalisation]:
        contacts = await suppliers_repository.primary_contacts(self.session, [self.supplier.id])
        contact = contacts.get(self.supplier.id)
        facts = await personalise(
            session=self.session,
            supplier=self.supplier,
            contact=contact,
            health=self.env.health,
            milestones=self.env.milestones,
            trigger=self.run.trigger,
        )
        return contact, facts

    async def _skip_reason(self, step: ChannelStep) -> str | None:
        if not step.skip_if:
            return None
        outcomes = await repository.run_outcomes(self.session, self.run.id)
        for condition in step.skip_if:
            if condition == "recovered" and self.risk in RECOVERED_LEVELS:
                return f"skipped: the supplier recovered ({self.risk})"
            if condition == "still_healthy" and self.risk != "healthy":
                return f"skipped: the supplier is no longer healthy ({self.risk})"
            if outcomes.get(condition):
                return f"skipped: {condition.replace('_', ' ')}"
        return None

    def _record(
        self,
        step: ChannelStep,
        status: DeliveryStatus,
        detail: str | None,
        *,
        subject: str = "",
        body: str = "",
        user_id: uuid.UUID | None = None,
    ) -> Intervention:
        row = self.row
        if row is None:
            row = Intervention(
                id=uuid.uuid4(),
                idempotency_key=self.key,
                run_id=self.run.id,
                step_no=self.job.step_no,
                playbook_key=self.playbook.key,
                supplier_id=self.supplier.id,
                channel=str(step.channel),
                category=str(step.category),
                template=_template_name(step),
                attempts=0,
                created_at=self.now,
            )
            self.session.add(row)
            self.row = row
        row.status = status
        row.detail = detail
        row.updated_at = self.now
        row.supplier_user_id = user_id or row.supplier_user_id
        if subject:
            row.subject = subject[:300]
        if body:
            row.body = body
        return row

    async def _close(
        self, step: ChannelStep, status: DeliveryStatus, detail: str
    ) -> Prepared | None:
        """Record a decision that sends nothing, and move the run on."""
        self._record(step, status, detail)
        await self.session.flush()
        await advance(self.session, self.job, self.run, self.playbook, self.now)
        return None

    async def _task(self, step: TaskStep, facts: Personalisation) -> Prepared | None:
        detail = facts.top_issue or f"Triggered by the {self.playbook.name} playbook."
        outcome = await team_tasks.open_or_update(
            session=self.session,
            supplier_id=self.supplier.id,
            account_owner_id=self.supplier.account_owner_id,
            reason=step.reason,
            title=f"{step.title}: {self.supplier.business_name}",
            detail=detail,
            priority=step.priority,
            due_on=(self.now + timedelta(days=step.due_in_days)).date(),
            run_id=self.run.id,
            now=self.now,
        )
        verb = "opened" if outcome.created else "updated"
        row = self._record(step, DeliveryStatus.SENT, f"task {verb}", subject=outcome.task.title)
        row.provider_id, row.sent_at = str(outcome.task.id), self.now
        await self.session.flush()
        await emit_sent(self.session, row, self.now)
        await advance(self.session, self.job, self.run, self.playbook, self.now)
        return None

    async def _in_app(
        self, step: InAppStep, contact: SupplierUser, facts: Personalisation
    ) -> Prepared | None:
        context = facts.as_context()
        title, body = render_text(step.title, context), render_text(step.body, context)
        row = self._record(
            step, DeliveryStatus.SENT, None, subject=title, body=body, user_id=contact.id
        )
        row.sent_at = self.now
        await self.session.flush()
        message_id = await inapp.post_message(
            session=self.session,
            intervention_id=row.id,
            supplier_id=self.supplier.id,
            supplier_user_id=contact.id,
            kind=step.kind,
            title=title,
            body=body,
            cta_label=step.cta_label,
            cta_url=step.cta_url,
            now=self.now,
        )
        row.provider_id = f"inapp:{message_id}"
        await emit_sent(self.session, row, self.now)
        await advance(self.session, self.job, self.run, self.playbook, self.now)
        return None

    def _email(
        self, step: EmailStep, contact: SupplierUser, facts: Personalisation
    ) -> OutgoingMessage:
        row = self._record(step, DeliveryStatus.SENDING, None, user_id=contact.id)
        message = build_email(
            env=self.env,
            intervention_id=row.id,
            key=self.key,
            category=step.category,
            template=step.template,
            supplier=self.supplier,
            contact=contact,
            context=facts.as_context(),
        )
        row.subject, row.body = message.subject[:300], message.text
        return message

    def _sms(self, step: SmsStep, contact: SupplierUser, facts: Personalisation) -> OutgoingMessage:
        text = render_text(step.text, facts.as_context())
        row = self._record(step, DeliveryStatus.SENDING, None, body=text, user_id=contact.id)
        row.subject = text[:80]
        return OutgoingMessage(
            idempotency_key=self.key,
            channel=Channel.SMS,
            category=step.category,
            recipient=recipient_of(self.supplier, contact),
            text=text,
        )

    def _webhook(self, step: WebhookStep, facts: Personalisation) -> OutgoingMessage:
        payload = {
            "type": "intervention.webhook",
            "action": step.action,
            "playbook": self.playbook.key,
            "run_id": str(self.run.id),
            "supplier": {
                "id": str(self.supplier.id),
                "business_name": self.supplier.business_name,
                "vendor_type": self.supplier.vendor_type,
                "plan_tier": self.supplier.plan_tier,
                "country": self.supplier.country,
                "risk_level": self.risk,
            },
            "trigger": self.run.trigger,
            "top_issue": facts.top_issue,
        }
        self._record(step, DeliveryStatus.SENDING, None, subject=f"{step.target}: {step.action}")
        return OutgoingMessage(
            idempotency_key=self.key,
            channel=Channel.WEBHOOK,
            category=step.category,
            recipient=Recipient(str(self.supplier.id), None, self.supplier.business_name),
            payload=payload,
        )

    async def _send(self, step: ChannelStep, message: OutgoingMessage, adapter: str) -> Prepared:
        assert self.row is not None
        reconcile = self.resumed_at_start
        self.row.status = DeliveryStatus.SENDING
        self.row.attempts += 1
        await self.session.flush()
        return Prepared(self.job.id, self.row.id, message, adapter, reconcile)


@dataclass(frozen=True)
class Refusal:
    """The gate's "no": recorded on the intervention with its reason."""

    status: DeliveryStatus
    detail: str


async def gate(
    *,
    session: AsyncSession,
    env: StepEnv,
    supplier: Supplier,
    contact: SupplierUser,
    channel: Channel,
    category: Category,
    now: datetime,
) -> Refusal | datetime | None:
    """The one place a message to a supplier user is allowed out: preferences, the reachable
    address, the frequency cap (marketing only), then quiet hours. Returns a refusal, the
    end of the quiet window to hold the message until, or ``None`` to send now."""
    subscribed = await preferences.is_subscribed(
        session=session, supplier_user_ids=[contact.id], channel=channel, category=category
    )
    if contact.id not in subscribed:
        return Refusal(DeliveryStatus.UNSUBSCRIBED, f"opted out of {channel} ({category})")
    if channel == Channel.SMS and not contact.phone:
        return Refusal(DeliveryStatus.UNDELIVERABLE, "no phone number")
    if channel == Channel.EMAIL and not contact.email:
        return Refusal(DeliveryStatus.UNDELIVERABLE, "no email address")
    cap = env.catalog.frequency_cap
    if category == Category.MARKETING and channel in repository.CAPPED_CHANNELS:
        sent = await repository.marketing_sent_since(
            session, supplier.id, now - timedelta(days=cap.per_days)
        )
        if sent >= cap.messages:
            return Refusal(
                DeliveryStatus.CAPPED,
                f"frequency cap: {cap.messages} marketing messages per {cap.per_days} days",
            )
    quiet = env.catalog.quiet_hours
    if channel not in quiet.channels:
        return None
    zone = supplier_zone(time_zone=supplier.time_zone, country=supplier.country)
    return quiet_until(now, zone, quiet)


def _template_name(step: ChannelStep) -> str:
    if isinstance(step, EmailStep):
        return step.template
    if isinstance(step, TaskStep):
        return f"task:{step.reason}"
    if isinstance(step, WebhookStep):
        return f"webhook:{step.target}"
    return f"{step.channel}"


def build_email(
    *,
    env: StepEnv,
    intervention_id: uuid.UUID,
    key: str,
    category: Category,
    template: str,
    supplier: Supplier,
    contact: SupplierUser,
    context: dict[str, Any],
) -> OutgoingMessage:
    """Render an email with its tracked links, pixel and one-click unsubscribe headers."""
    links = env.links
    product = env.product_url.rstrip("/")
    unsubscribe = links.unsubscribe_url(contact.id, Channel.EMAIL, category)
    rendered = env.render_email(
        template,
        {
            **context,
            "pixel_url": links.pixel_url(intervention_id),
            "unsubscribe_url": unsubscribe,
            "links": {
                name: links.click_url(intervention_id, f"{product}{path}")
                for name, path in PRODUCT_LINKS.items()
            },
        },
    )
    return OutgoingMessage(
        idempotency_key=key,
        channel=Channel.EMAIL,
        category=category,
        recipient=recipient_of(supplier, contact),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        headers=list_unsubscribe_headers(unsubscribe),
    )


def recipient_of(supplier: Supplier, contact: SupplierUser) -> Recipient:
    return Recipient(
        supplier_id=str(supplier.id),
        supplier_user_id=str(contact.id),
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
    )


async def emit_sent(session: AsyncSession, row: Intervention, now: datetime) -> None:
    await enqueue(
        session=session,
        events=[
            NewEvent(
                event_type=SuccessEventType.INTERVENTION_SENT,
                supplier_id=row.supplier_id,
                occurred_at=now,
                payload={
                    "intervention_id": str(row.id),
                    "run_id": str(row.run_id) if row.run_id else None,
                    "playbook": row.playbook_key,
                    "channel": row.channel,
                    "template": row.template,
                    "provider_id": row.provider_id,
                },
            )
        ],
        now=now,
    )


async def _unsettled(
    session: AsyncSession, prepared: Prepared
) -> tuple[Intervention, StepJob] | None:
    """The message and its job, under the supplier's lock, while the message is still
    ``sending``; ``None`` when another worker (which took over an expired lease) already
    recorded how it went, so it is recorded, and announced, once."""
    await lock_suppliers(session, [uuid.UUID(prepared.message.recipient.supplier_id)])
    row = await session.get(Intervention, prepared.intervention_id, populate_existing=True)
    job = await repository.job(session, prepared.job_id)
    if row is None or job is None or row.status != DeliveryStatus.SENDING:
        return None
    return row, job


async def record_sent(
    *, session: AsyncSession, env: StepEnv, prepared: Prepared, result: SendResult, now: datetime
) -> None:
    """The provider accepted the message: record it and move the run on."""
    settled = await _unsettled(session, prepared)
    if settled is None:
        return
    row, job = settled
    row.status, row.provider_id, row.sent_at, row.updated_at = (
        DeliveryStatus.SENT,
        result.provider_id,
        now,
        now,
    )
    row.detail = None
    await session.flush()
    await emit_sent(session, row, now)
    await _move_on(session, env, job, now)


async def _move_on(session: AsyncSession, env: StepEnv, job: StepJob, now: datetime) -> None:
    """The job's message is settled: a run goes to its next step, a one-off is done."""
    run = await repository.run(session, job.run_id) if job.run_id else None
    playbook = env.catalog.get(run.playbook_key) if run else None
    if run is None or playbook is None:
        job.state, job.lease_until = JobState.DONE, None
        await session.flush()
        return
    await advance(session, job, run, playbook, now)


async def record_failure(
    *, session: AsyncSession, env: StepEnv, prepared: Prepared, error: DeliveryError, now: datetime
) -> None:
    """A send failed: retry later when it may succeed, else record it and move on."""
    settled = await _unsettled(session, prepared)
    if settled is None:
        return
    row, job = settled
    row.updated_at, row.detail = now, error.reason[:2000]
    if error.temporary and row.attempts < env.max_attempts:
        row.status = DeliveryStatus.RETRYING
        job.state, job.lease_until, job.last_error = JobState.PENDING, None, error.reason[:2000]
        job.attempts += 1
        job.due_at = now + env.retry_base * 2 ** (row.attempts - 1)
        await session.flush()
        return
    row.status = DeliveryStatus.FAILED
    await session.flush()
    await _move_on(session, env, job, now)
