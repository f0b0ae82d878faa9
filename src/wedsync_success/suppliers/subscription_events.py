"""Subscription events of the events API, written into the subscription history.

Imports and live events share one history (``subscription_periods``), and the supplier row
is derived from it by the one rule of :func:`periods.current_subscription`. An event speaks
of the supplier's subscription as a whole (it names no subscription), so it acts on every
period covering its instant ``t``:

- ``subscription_cancelled`` (or ``subscription_changed`` with ``status: cancelled``) closes
  them at ``t``; its ``reason`` becomes the supplier's cancellation reason.
- ``subscription_changed`` while covered closes them at ``t`` and opens one period at ``t``
  with the event's ``plan_tier``, ``mrr_minor`` (the new total, net) and ``currency``; a
  property it leaves out (or that does not validate) keeps the value it replaces. The new
  period ends where the ones it replaces ended (open if one of them was open). A change that
  changes none of plan, MRR and currency opens nothing (a status alone only sets status).
- ``subscription_changed`` while not covered is a start (or a reactivation): it opens a
  period at ``t`` (values missing from the event: those of the last period before ``t``,
  else the supplier row's), ending where the next known period starts, else open.
- ``status: trialing`` or ``past_due`` is kept by the derived row while a period covers now;
  ``active`` clears it.

A supplier without history yet starts from what its row says: its subscription becomes
its first period (``[subscription_started_at, subscription_ended_at)`` when cancelled, open
otherwise) before the event applies.

Idempotence and order: the events API stores an event once (by ``event_id``), so a replay
never reaches this module; applying a change whose values the covering period already has
changes nothing either. Events of a batch apply oldest first. An event older than others
already applied (out of order) is inserted into the timeline at its instant: it splits the
period covering it and leaves what came later alone (a late cancellation before a later
change becomes a churn and a reactivation; a late change before a later one lasts until
it). Statuses are read from the newest event of the batch. Events applied in time order
give the history they describe; out of order, one thing can differ: a closed period keeps
no trace of the cancellation that closed it, so a late start before an already-applied
cancellation runs on to the next known start (the history's instants and plans stay right,
only that one end can come out later). Replaying all of a supplier's events in time order
would remove this, but needs the periods to say which came from events (a migration).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity.schemas import EventIn
from wedsync_success.kit.limits import MAX_AMOUNT_MINOR
from wedsync_success.suppliers import repository
from wedsync_success.suppliers.coverage import refresh_coverage
from wedsync_success.suppliers.history import derive_subscriptions
from wedsync_success.suppliers.models import PlanTier, SubscriptionStatus
from wedsync_success.suppliers.periods import Period
from wedsync_success.suppliers.repository import SubscriptionRow


class SubscriptionChange(BaseModel):
    """The properties of a ``subscription_changed`` event that update the subscription."""

    plan_tier: PlanTier | None = None
    mrr_minor: int | None = Field(default=None, ge=0, le=MAX_AMOUNT_MINOR)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    status: SubscriptionStatus | None = None


@dataclass(frozen=True)
class Change:
    """What one subscription event says, its properties validated one by one."""

    at: datetime
    ends: bool
    plan: str | None = None
    mrr_minor: int | None = None
    currency: str | None = None
    status: str | None = None
    reason: str | None = None

    @property
    def values(self) -> tuple[str | None, int | None, str | None]:
        return self.plan, self.mrr_minor, self.currency


def change_of(event: EventIn) -> Change | None:
    """The change ``event`` asks for (``None``: it asks for nothing this module can do)."""
    if event.type == "subscription_cancelled":
        reason = event.properties.get("reason")
        return Change(at=event.occurred_at, ends=True, reason=str(reason)[:200] if reason else None)
    valid: dict[str, Any] = {}
    for name in SubscriptionChange.model_fields:
        try:
            valid |= SubscriptionChange.model_validate(
                {name: event.properties.get(name)}
            ).model_dump(exclude_none=True, mode="json")
        except ValidationError:
            continue  # a property that does not validate is ignored; the event is stored
    if not valid:
        return None
    if valid.get("status") == SubscriptionStatus.CANCELLED.value:
        return Change(at=event.occurred_at, ends=True)
    return Change(
        at=event.occurred_at,
        ends=False,
        plan=valid.get("plan_tier"),
        mrr_minor=valid.get("mrr_minor"),
        currency=valid.get("currency"),
        status=valid.get("status"),
    )


@dataclass(frozen=True)
class Slot:
    """A period of the history being edited: its stored id (``None``: not stored yet)."""

    id: int | None
    period: Period


def seed_of(row: SubscriptionRow) -> Period | None:
    """The supplier row's subscription as a first period (``None``: it has no known span)."""
    cancelled = row.status == SubscriptionStatus.CANCELLED.value
    end = row.ended_at if cancelled else None
    if cancelled and (end is None or end <= row.started_at):
        return None
    return Period(
        plan=row.plan_tier,
        starts_at=row.started_at,
        ends_at=end,
        mrr_minor=row.mrr_minor,
        discount_minor=0,
        currency=row.currency,
    )


def apply(slots: Sequence[Slot], change: Change, *, row: SubscriptionRow) -> list[Slot]:
    """The history after ``change`` (the module's rules); ``row`` gives the values a start
    without history before it takes."""
    at = change.at
    covering = [s for s in slots if s.period.covers(at)]
    others = [s for s in slots if not s.period.covers(at)]
    closed = [
        Slot(s.id, replace(s.period, ends_at=at)) for s in covering if s.period.starts_at < at
    ]
    if change.ends:
        return others + closed
    plan, mrr, currency = change.values
    if covering:
        largest = max(covering, key=lambda s: (_net(s.period), s.period.plan)).period
        same = (
            largest.plan,
            sum(_net(s.period) for s in covering),
            largest.currency,
        )
        wanted = (plan or same[0], same[1] if mrr is None else mrr, currency or same[2])
        if len(covering) == 1 and wanted == same:
            return list(slots)
        ends = [s.period.ends_at for s in covering]
        end = None if None in ends else max(e for e in ends if e is not None)
    else:
        before = [s.period for s in slots if s.period.starts_at < at]
        last = max(before, key=lambda p: (p.ends_at or at, p.starts_at), default=None)
        base = (
            (last.plan, _net(last), last.currency)
            if last is not None
            else (row.plan_tier, row.mrr_minor, row.currency)
        )
        wanted = (plan or base[0], base[1] if mrr is None else mrr, currency or base[2])
        end = min((s.period.starts_at for s in slots if s.period.starts_at > at), default=None)
    opened = Period(
        plan=wanted[0],
        starts_at=at,
        ends_at=end,
        mrr_minor=wanted[1],
        discount_minor=0,
        currency=wanted[2],
    )
    return [*others, *closed, Slot(None, opened)]


def _net(period: Period) -> int:
    return period.mrr_minor - period.discount_minor


@dataclass
class _Writes:
    deleted: list[int]
    ended: list[tuple[int, datetime]]
    inserted: list[tuple[uuid.UUID, Period]]


def _diff(sid: uuid.UUID, before: Sequence[Slot], after: Sequence[Slot], writes: _Writes) -> None:
    kept = {s.id: s.period for s in after if s.id is not None}
    for slot in before:
        assert slot.id is not None
        now_is = kept.get(slot.id)
        if now_is is None:
            writes.deleted.append(slot.id)
        elif now_is != slot.period:  # only ever its end moves
            assert now_is.ends_at is not None
            writes.ended.append((slot.id, now_is.ends_at))
    writes.inserted.extend((sid, s.period) for s in after if s.id is None)


async def apply_subscription_events(
    *, session: AsyncSession, events: Sequence[EventIn], now: datetime
) -> list[uuid.UUID]:
    """Write subscription events into the history of their suppliers, oldest first, and
    derive those suppliers' rows as of ``now``; returns the suppliers whose history was
    read (those named by a usable event). Call with the suppliers locked (the events API
    locks them before storing the events). A few queries per batch, whatever its size."""
    changes: dict[uuid.UUID, list[tuple[datetime, str, Change]]] = {}
    for event in events:
        change = change_of(event)
        # Stored events have their supplier_id (an external id is looked up on ingest).
        if change is not None and event.supplier_id is not None:
            changes.setdefault(event.supplier_id, []).append((change.at, event.event_id, change))
    rows = await repository.subscription_rows(session, list(changes))
    sids = sorted(sid for sid in changes if sid in rows)
    stored = (await repository.history_of(session, sids)).periods
    writes = _Writes(deleted=[], ended=[], inserted=[])
    history: dict[uuid.UUID, list[Period]] = {}
    statuses: dict[uuid.UUID, str] = {}
    reasons: dict[uuid.UUID, str | None] = {}
    for sid in sids:
        row = rows[sid]
        before = [Slot(pid, period) for pid, period in stored.get(sid, [])]
        seed = seed_of(row) if not before else None
        slots = before + ([Slot(None, seed)] if seed is not None else [])
        status = row.status
        for _, _, change in sorted(changes[sid], key=lambda c: (c[0], c[1])):
            slots = apply(slots, change, row=row)
            if change.ends:
                reasons[sid] = change.reason
            elif change.status is not None:
                status = change.status
        _diff(sid, before, slots, writes)
        history[sid] = [s.period for s in slots]
        statuses[sid] = status
    await repository.delete_periods(session, writes.deleted)
    await repository.end_periods(session, writes.ended)
    if writes.inserted:
        await repository.upsert_periods(session, _columns(writes.inserted, now))
    derived = await derive_subscriptions(session, history, statuses=statuses, now=now)
    await refresh_coverage(session=session, supplier_ids=sids)
    await repository.set_cancellation_reasons(
        session,
        [
            (sid, reasons.get(sid) if status == SubscriptionStatus.CANCELLED.value else None)
            for sid, status in derived.items()
            if status != SubscriptionStatus.CANCELLED.value or sid in reasons
        ],
    )
    return sids


def _columns(inserted: Sequence[tuple[uuid.UUID, Period]], now: datetime) -> dict[str, list[Any]]:
    return {
        "supplier_id": [sid for sid, _ in inserted],
        "plan": [p.plan for _, p in inserted],
        "starts_at": [p.starts_at for _, p in inserted],
        "ends_at": [p.ends_at for _, p in inserted],
        "mrr_minor": [p.mrr_minor for _, p in inserted],
        "currency": [p.currency for _, p in inserted],
        "quantity": [1] * len(inserted),
        "discount_minor": [p.discount_minor for _, p in inserted],
        "bill_period_months": [1] * len(inserted),
        "created_at": [now] * len(inserted),
    }
