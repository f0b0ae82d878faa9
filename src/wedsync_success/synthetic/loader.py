"""Loading a generated population into a database with bulk writes.

The population is trusted and already in memory, so the per-event work of the API path
(building a dict per event, pydantic validation, SQLAlchemy's per-row parameters) is
skipped: events go to ``activity_events`` as columns (:func:`db.bulk.upsert_columns`), in
chunks that each carry one ``batch_id``. Everything after the insert is the real path's own
code: the rollups and totals are folded from the rows the chunk inserted by the same set-based
statements as an API batch. It loads an empty database (the demo's): the churn feature
store does not exist yet, so there is nothing to keep current on the way. The suppliers are
loaded in their end-of-window state; their subscription events are then written into the
subscription history by the API path's own code
(:func:`suppliers.subscription_events.apply_subscription_events`), which derives the same
state from it. Failed charges and closed support
tickets of the last week announce themselves (``pipeline.announce_payment_failures``,
``activity.tickets.announce_closed_tickets``) as on the API path. The
tests load a small
population both ways and compare every table. The simulated history of the at-risk rescue
playbook (``outreach``) has no API path: its runs and messages go straight to
``playbook_runs`` and ``interventions``, after the suppliers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from wedsync_success.activity import repository as activity
from wedsync_success.activity.schemas import SUBSCRIPTION_EVENT_TYPES, EventIn
from wedsync_success.activity.tickets import announce_closed_tickets
from wedsync_success.context import AppContext
from wedsync_success.db.bulk import upsert_columns
from wedsync_success.db.locks import lock_suppliers
from wedsync_success.integrations.referrals import service as referrals
from wedsync_success.interventions.channels.base import Category
from wedsync_success.interventions.models import Arm, DeliveryStatus, Intervention, PlaybookRun
from wedsync_success.pipeline import announce_payment_failures
from wedsync_success.suppliers.service import upsert_batch
from wedsync_success.suppliers.subscription_events import apply_subscription_events
from wedsync_success.synthetic.catalog import EVENT_TYPE_NAMES, properties
from wedsync_success.synthetic.model import OutreachColumns, Population

Progress = Callable[[str, int, int], None]
"""Called as (stage, done, total) while loading."""

SUPPLIER_CHUNK = 1000
EVENT_CHUNK = 50_000
"""Events per transaction: large enough that per-statement costs vanish, small enough that
the progress bar moves every second or so."""

_CODE_OF_TYPE: dict[str, int] = {name: code for code, name in enumerate(EVENT_TYPE_NAMES)}


@dataclass(frozen=True)
class LoadSummary:
    suppliers: int
    events: int
    """Events stored (an event whose ``event_id`` was already stored is skipped)."""
    runs: int
    messages: int


def supplier_items(population: Population, start: int, stop: int) -> list[dict[str, Any]]:
    """Suppliers [start, stop) as the API's supplier items (with their users)."""
    return [
        {
            "id": str(s.id),
            "business_name": s.business_name,
            "vendor_type": s.vendor_type,
            "country": s.country,
            "signed_up_at": s.signed_up_at.isoformat(),
            "plan_tier": s.plan_tier,
            "mrr_minor": s.mrr_minor,
            "currency": s.currency,
            "subscription_status": s.subscription_status,
            "subscription_started_at": s.subscription_started_at.isoformat(),
            "subscription_ended_at": s.subscription_ended_at.isoformat()
            if s.subscription_ended_at
            else None,
            "cancellation_reason": s.cancellation_reason,
            "acquisition_channel": s.acquisition_channel,
            "users": [
                {"id": str(u.id), "email": u.email, "name": u.name, "role": u.role} for u in s.users
            ],
        }
        for s in population.suppliers[start:stop]
    ]


def event_columns(population: Population, start: int, stop: int) -> dict[str, list[Any]]:
    """Events [start, stop) as the columns of ``activity_events`` (but the batch's own).

    The same values the API path stores for the records of :meth:`EventColumns.records`:
    ``value`` is ``properties.amount`` where there is one.
    """
    events, suppliers = population.events, population.suppliers
    supplier_rows: list[int] = events.supplier_index[start:stop].tolist()
    user_rows: list[int] = events.user_index[start:stop].tolist()
    types: list[str] = events.event_type[start:stop].tolist()
    seconds: list[int] = events.occurred_at[start:stop].astype(np.int64).tolist()
    amounts: list[int] = events.amount_minor[start:stop].tolist()
    details: list[int] = (
        events.detail_code[start:stop].tolist() if len(events.detail_code) else [0] * (stop - start)
    )
    supplier_ids = [s.id for s in suppliers]
    currencies = [s.currency for s in suppliers]
    user_ids = [[u.id for u in s.users] for s in suppliers]
    occurred_at = [datetime.fromtimestamp(sec, UTC) for sec in seconds]
    props = [
        properties(_CODE_OF_TYPE.get(name, -1), detail, amount, currencies[row], supplier_ids)
        for name, detail, amount, row in zip(types, details, amounts, supplier_rows, strict=True)
    ]
    return {
        "event_id": events.event_id[start:stop],
        "supplier_id": [supplier_ids[row] for row in supplier_rows],
        "user_id": [
            user_ids[row][user] if user >= 0 else None
            for row, user in zip(supplier_rows, user_rows, strict=True)
        ],
        "event_type": types,
        "occurred_at": occurred_at,
        "value": [p.get("amount") for p in props],
        "properties": props,
    }


TRIGGER = {"event": "supplier.risk_level_changed", "risk_level_entered": "at_risk"}
TEMPLATES = {"email": "at_risk_checkin", "in_app": "at_risk_coach"}
SUBJECTS = {
    "email": "How is your booking season going?",
    "in_app": "Let's get your next booking season sorted",
}


def _instants(seconds: np.ndarray[Any, Any], never: int) -> list[datetime | None]:
    return [None if sec >= never else datetime.fromtimestamp(sec, UTC) for sec in seconds.tolist()]


def outreach_columns(
    population: Population, never: int
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """The runs and messages as the columns of ``playbook_runs`` and ``interventions``."""
    o: OutreachColumns = population.outreach
    suppliers = population.suppliers
    rows: list[int] = o.supplier_index.tolist()
    ended = _instants(o.ended_sec, never)
    statuses: list[str] = o.status.tolist()
    runs: dict[str, list[Any]] = {
        "id": o.run_id,
        "supplier_id": [suppliers[r].id for r in rows],
        "arm": [Arm.CONTROL if c else Arm.TREATMENT for c in o.control.tolist()],
        "status": statuses,
        "enrolled_at": _instants(o.enrolled_sec, never),
        "ended_at": ended,
        "end_reason": ["supplier cancelled" if s == "exited" else None for s in statuses],
        "mrr_minor_at_enrolment": o.mrr_minor.tolist(),
        "currency": [suppliers[r].currency for r in rows],
    }
    message_rows = [rows[run] for run in o.message_run.tolist()]
    channels: list[str] = o.message_channel.tolist()
    steps: list[int] = o.message_step.tolist()
    sent, opened, clicked = (
        _instants(o.sent_sec, never),
        _instants(o.opened_sec, never),
        _instants(o.clicked_sec, never),
    )
    run_ids = [o.run_id[run] for run in o.message_run.tolist()]
    messages: dict[str, list[Any]] = {
        "id": o.message_id,
        "idempotency_key": [f"{run}:{step}" for run, step in zip(run_ids, steps, strict=True)],
        "run_id": run_ids,
        "step_no": steps,
        "supplier_id": [suppliers[r].id for r in message_rows],
        "supplier_user_id": [suppliers[r].users[0].id for r in message_rows],
        "channel": channels,
        "template": [TEMPLATES[c] for c in channels],
        "subject": [SUBJECTS[c] for c in channels],
        "created_at": sent,
        "updated_at": [
            max(t for t in moments if t is not None)
            for moments in zip(sent, opened, clicked, strict=True)
        ],
        "sent_at": sent,
        "opened_at": opened,
        "clicked_at": clicked,
    }
    return runs, messages


async def load_outreach(ctx: AppContext, population: Population) -> tuple[int, int]:
    """Store the simulated playbook's runs and messages (its suppliers must be stored)."""
    o = population.outreach
    runs, messages = outreach_columns(population, population.outreach_truth.never)
    async with ctx.db.transaction() as session:
        await upsert_columns(
            session,
            PlaybookRun.__table__,  # type: ignore[arg-type]
            key=("id",),
            columns=runs,
            constants={
                "playbook_key": o.playbook_key,
                "goal_group": o.goal_group,
                "trigger": TRIGGER,
                "trigger_event_id": None,
            },
            skip_existing=True,
        )
        await upsert_columns(
            session,
            Intervention.__table__,  # type: ignore[arg-type]
            key=("id",),
            columns=messages,
            constants={
                "playbook_key": o.playbook_key,
                "category": Category.MARKETING,
                "status": DeliveryStatus.SENT,
                "body": "",
                "attempts": 1,
                "provider_id": None,
                "detail": None,
                "sent_by": None,
            },
            skip_existing=True,
        )
    return len(o), len(o.message_id)


async def load_suppliers(ctx: AppContext, population: Population, *, progress: Progress) -> int:
    """Store the suppliers with their users, in their end-of-window state."""
    total = len(population.suppliers)
    progress("suppliers", 0, total)
    for start in range(0, total, SUPPLIER_CHUNK):
        stop = min(start + SUPPLIER_CHUNK, total)
        async with ctx.db.transaction() as session:
            await upsert_batch(
                session=session, items=supplier_items(population, start, stop), now=ctx.clock()
            )
        progress("suppliers", stop, total)
    return total


async def load_subscription_history(
    ctx: AppContext, population: Population, *, chunk: int = EVENT_CHUNK
) -> None:
    """Write the population's subscription events into the history, in time order as the
    API path receives them (``chunk`` events per transaction)."""
    events = population.events
    wanted = np.flatnonzero(np.isin(events.event_type, sorted(SUBSCRIPTION_EVENT_TYPES)))
    for start in range(0, len(wanted), chunk):
        items = [
            EventIn.model_validate(events.records(int(i), int(i) + 1, population.suppliers)[0])
            for i in wanted[start : start + chunk]
        ]
        async with ctx.db.transaction() as session:
            await lock_suppliers(session, {e.supplier_id for e in items if e.supplier_id})
            await apply_subscription_events(session=session, events=items, now=ctx.clock())


async def load_population(
    ctx: AppContext, population: Population, *, progress: Progress, chunk: int = EVENT_CHUNK
) -> LoadSummary:
    """Store the suppliers and all their events (``chunk`` per transaction), with rollups and
    totals, then the simulated playbook history; scoring and milestones are left to the
    caller (once, at the end)."""
    now = ctx.clock()
    total = await load_suppliers(ctx, population, progress=progress)

    size = len(population.events)
    stored = 0
    progress("events", 0, size)
    for start in range(0, size, chunk):
        stop = min(start + chunk, size)
        async with ctx.db.transaction() as session:
            batch_id = await activity.open_batch(session, now=now)
            written = await activity.store_events(
                session, event_columns(population, start, stop), batch_id=batch_id
            )
            inserted = written.inserted
            if inserted:
                await referrals.fold_batch(session=session, batch_id=batch_id)
                await announce_payment_failures(session=session, batch_id=batch_id, now=now)
                await announce_closed_tickets(
                    session=session, batch_id=batch_id, settings=ctx.settings, now=now
                )
        stored += inserted
        progress("events", stop, size)
    await load_subscription_history(ctx, population, chunk=chunk)
    runs, messages = await load_outreach(ctx, population)
    return LoadSummary(suppliers=total, events=stored, runs=runs, messages=messages)
