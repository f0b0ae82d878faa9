"""One-off messages a success manager sends from a template (email, in-app or SMS).

They go through the same gate as playbook steps (preferences, cap for marketing, quiet
hours) and the same worker, as a job of their own: the request records the message as
``queued`` under an idempotency key (the client's ``Idempotency-Key``, so a retried request
sends nothing twice) and the worker delivers it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db.locks import lock_suppliers
from wedsync_success.interventions import inapp, repository
from wedsync_success.interventions.channels.base import Category, Channel, OutgoingMessage
from wedsync_success.interventions.models import DeliveryStatus, Intervention, JobState, StepJob
from wedsync_success.interventions.personalisation import personalise
from wedsync_success.interventions.steps import (
    Prepared,
    Refusal,
    StepEnv,
    build_email,
    emit_sent,
    gate,
    recipient_of,
)
from wedsync_success.kit.errors import NotFound, ValidationFailed
from wedsync_success.suppliers import repository as suppliers_repository
from wedsync_success.suppliers.models import Supplier, SupplierUser
from wedsync_success.surveys.kinds import kind_of_template, scale

ONE_OFF_TEMPLATE = "one_off"
ONE_OFF_CHANNELS = (Channel.EMAIL, Channel.IN_APP, Channel.SMS)
_OPEN = (DeliveryStatus.QUEUED, DeliveryStatus.HELD, DeliveryStatus.RETRYING)


async def queue_one_off(
    *,
    session: AsyncSession,
    supplier_id: uuid.UUID,
    supplier_user_id: uuid.UUID | None,
    channel: Channel,
    category: Category,
    subject: str,
    body: str,
    idempotency_key: str,
    sent_by: uuid.UUID | None,
    now: datetime,
    template: str = ONE_OFF_TEMPLATE,
) -> tuple[Intervention, bool]:
    """Record the message and schedule its delivery; a key seen before returns that message
    (``False``: nothing new was queued). ``template`` is the email template (a survey's
    ``survey_<kind>`` adds its score links, and its in-app message lets the user score)."""
    key = f"oneoff:{idempotency_key}"
    await lock_suppliers(session, [supplier_id])
    existing = await repository.intervention_by_key(session, key)
    if existing is not None:
        if existing.supplier_id != supplier_id:
            raise ValidationFailed(
                "This Idempotency-Key was already used for another supplier",
                details=[{"field": "Idempotency-Key", "reason": "already used"}],
            )
        return existing, False
    supplier = await suppliers_repository.get(session, supplier_id)
    if supplier is None:
        raise NotFound(f"No supplier with id {supplier_id}")
    users = await suppliers_repository.users_of(session, supplier_id)
    if supplier_user_id is not None and supplier_user_id not in {u.id for u in users}:
        raise ValidationFailed(
            "That user does not belong to this supplier",
            details=[{"field": "supplier_user_id", "reason": "not a user of this supplier"}],
        )
    row = Intervention(
        id=uuid.uuid4(),
        idempotency_key=key,
        supplier_id=supplier_id,
        supplier_user_id=supplier_user_id,
        channel=str(channel),
        category=str(category),
        template=template,
        status=DeliveryStatus.QUEUED,
        subject=subject,
        body=body,
        attempts=0,
        sent_by=sent_by,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    await repository.insert_jobs(
        session,
        [
            repository.pending_job(
                intervention_id=row.id, supplier_id=supplier_id, due_at=now, now=now
            )
        ],
    )
    return row, True


async def prepare_one_off(
    *, session: AsyncSession, env: StepEnv, job: StepJob, now: datetime
) -> Prepared | None:
    """Gate and build a queued one-off message (the job is claimed, the supplier locked)."""
    row = (
        await session.get(Intervention, job.intervention_id, populate_existing=True)
        if job.intervention_id
        else None
    )
    if row is None or row.status not in (*_OPEN, DeliveryStatus.SENDING):
        job.state, job.lease_until = JobState.DONE, None
        return None
    supplier = await suppliers_repository.get(session, row.supplier_id)
    contact = await _contact(session, row) if supplier else None
    if supplier is None or contact is None:
        return _close(job, row, DeliveryStatus.UNDELIVERABLE, "the supplier has no users", now)
    channel = Channel(row.channel)
    resumed = row.status == DeliveryStatus.SENDING
    if not resumed:
        verdict = await gate(
            session=session,
            env=env,
            supplier=supplier,
            contact=contact,
            channel=channel,
            category=Category(row.category),
            now=now,
        )
        if isinstance(verdict, Refusal):
            return _close(job, row, verdict.status, verdict.detail, now)
        if verdict is not None and channel != Channel.IN_APP:
            row.status, row.detail, row.updated_at = (
                DeliveryStatus.HELD,
                f"quiet hours until {verdict.isoformat()}",
                now,
            )
            job.state, job.due_at, job.lease_until = JobState.PENDING, verdict, None
            return None
    row.supplier_user_id = contact.id
    if channel == Channel.IN_APP:
        message_id = await inapp.post_message(
            session=session,
            intervention_id=row.id,
            supplier_id=supplier.id,
            supplier_user_id=contact.id,
            kind=_inapp_kind(row.template),
            title=row.subject,
            body=row.body,
            cta_label=None,
            cta_url=None,
            now=now,
        )
        row.status, row.provider_id, row.sent_at, row.updated_at = (
            DeliveryStatus.SENT,
            f"inapp:{message_id}",
            now,
            now,
        )
        await session.flush()
        await emit_sent(session, row, now)
        job.state, job.lease_until = JobState.DONE, None
        return None
    message = await _message(session, env, row, supplier, contact)
    row.status, row.updated_at = DeliveryStatus.SENDING, now
    row.attempts += 1
    await session.flush()
    return Prepared(job.id, row.id, message, str(channel), reconcile=resumed)


def _inapp_kind(template: str) -> str:
    """A survey's in-app message is of its survey kind (the app shows the scores to pick)."""
    survey = kind_of_template(template)
    return "coach" if survey is None else f"survey_{survey.value}"


def _survey_answers(env: StepEnv, row: Intervention) -> list[dict[str, object]]:
    """One signed link per score of a survey email (none for other emails)."""
    survey = kind_of_template(row.template)
    if survey is None:
        return []
    return [
        {"score": score, "url": env.links.survey_answer_url(row.id, score)}
        for score in scale(survey)
    ]


async def _contact(session: AsyncSession, row: Intervention) -> SupplierUser | None:
    users = await suppliers_repository.users_of(session, row.supplier_id)
    if row.supplier_user_id is not None:
        return next((u for u in users if u.id == row.supplier_user_id), None)
    contacts = await suppliers_repository.primary_contacts(session, [row.supplier_id])
    return contacts.get(row.supplier_id)


def _close(
    job: StepJob, row: Intervention, status: DeliveryStatus, detail: str, now: datetime
) -> Prepared | None:
    """Record a decision that sends nothing; the one-off is settled."""
    row.status, row.detail, row.updated_at = status, detail, now
    job.state, job.lease_until = JobState.DONE, None
    return None


async def _message(
    session: AsyncSession,
    env: StepEnv,
    row: Intervention,
    supplier: Supplier,
    contact: SupplierUser,
) -> OutgoingMessage:
    recipient = recipient_of(supplier, contact)
    if row.channel == Channel.SMS:
        return OutgoingMessage(
            idempotency_key=row.idempotency_key,
            channel=Channel.SMS,
            category=Category(row.category),
            recipient=recipient,
            text=row.body,
        )
    facts = await personalise(
        session=session,
        supplier=supplier,
        contact=contact,
        health=env.health,
        milestones=env.milestones,
        trigger={},
    )
    return build_email(
        env=env,
        intervention_id=row.id,
        key=row.idempotency_key,
        category=Category(row.category),
        template=row.template,
        supplier=supplier,
        contact=contact,
        context={
            **facts.as_context(),
            "subject": row.subject,
            "body": row.body,
            "answers": _survey_answers(env, row),
        },
    )
