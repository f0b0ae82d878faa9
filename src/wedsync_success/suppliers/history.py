"""Loading subscription history: a batch of billed periods stored, every touched supplier's
current subscription derived again (rules in :mod:`suppliers.periods`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db.locks import lock_suppliers
from wedsync_success.kit.batch import RejectedItem, validate_each
from wedsync_success.suppliers import repository
from wedsync_success.suppliers.periods import (
    Period,
    PeriodIn,
    current_subscription,
    incoming,
    overlap_of,
)


class PeriodBatchResult(BaseModel):
    created: int
    updated: int = Field(description="Periods already stored (same supplier, plan and start)")
    rejected: int
    errors: list[RejectedItem] = Field(default_factory=list)
    supplier_ids: list[uuid.UUID] = Field(
        default_factory=list, description="Suppliers whose history changed"
    )


def _span(period: Period) -> str:
    end = period.ends_at.date().isoformat() if period.ends_at else "open"
    return f"the {period.plan} period {period.starts_at.date().isoformat()} to {end}"


async def import_periods(
    *, session: AsyncSession, items: Sequence[Any], now: datetime
) -> PeriodBatchResult:
    """Store a batch of billed periods and derive the current subscription of every supplier
    they touch, as of ``now``. A bad period is refused alone, naming the field: an unknown
    supplier, an end not after its start, a negative amount, a period overlapping another
    of the same supplier and plan (stored, or earlier in the batch)."""
    valid, rejected = validate_each(PeriodIn, items, key_field="supplier_external_id")
    ids = await repository.ids_by_external_id(
        session, [item.supplier_external_id for _, item in valid]
    )
    await lock_suppliers(session, list(ids.values()))
    history = await repository.history_of(session, list(ids.values()))
    stored = {sid: [p for _, p in rows] for sid, rows in history.periods.items()}
    accepted: list[tuple[uuid.UUID, PeriodIn]] = []
    batch: dict[uuid.UUID, list[tuple[int, Period]]] = {}
    updated = 0
    for index, item in valid:
        sid = ids.get(item.supplier_external_id)
        key = item.supplier_external_id
        if sid is None or sid not in history.statuses:  # not there, or deleted since
            reason = "no supplier has this external id"
            rejected.append(
                RejectedItem(index=index, key=key, field="supplier_external_id", reason=reason)
            )
            continue
        period = incoming(item)
        earlier = batch.setdefault(sid, [])
        problem = next(
            (
                f"repeats the period of item {i} in this batch"
                for i, p in earlier
                if (p.plan, p.starts_at) == (period.plan, period.starts_at)
            ),
            None,
        )
        if problem is None:
            clash = overlap_of(period, [p for _, p in earlier])
            if clash is not None:
                problem = f"overlaps {_span(clash)} earlier in this batch"
        if problem is None:
            clash = overlap_of(period, stored.get(sid, []))
            if clash is not None:
                problem = f"overlaps {_span(clash)} already stored"
        if problem is not None:
            rejected.append(RejectedItem(index=index, key=key, field="start_date", reason=problem))
            continue
        earlier.append((index, period))
        accepted.append((sid, item))
        known = stored.get(sid, [])
        updated += any((p.plan, p.starts_at) == (period.plan, period.starts_at) for p in known)
    rejected.sort(key=lambda e: e.index)
    touched = sorted({sid for sid, _ in accepted})
    if accepted:
        await repository.upsert_periods(session, _columns(accepted, now))
        # The history after the upsert, without reading it again: the stored periods, each
        # replaced by the batch's period of the same plan and start.
        merged = {sid: {(p.plan, p.starts_at): p for p in stored.get(sid, [])} for sid in touched}
        for sid in touched:
            merged[sid].update({(p.plan, p.starts_at): p for _, p in batch[sid]})
        await derive_subscriptions(
            session,
            {sid: list(merged[sid].values()) for sid in touched},
            statuses=history.statuses,
            now=now,
        )
    return PeriodBatchResult(
        created=len(accepted) - updated,
        updated=updated,
        rejected=len(rejected),
        errors=rejected,
        supplier_ids=touched,
    )


def _columns(accepted: Sequence[tuple[uuid.UUID, PeriodIn]], now: datetime) -> dict[str, list[Any]]:
    return {
        "supplier_id": [sid for sid, _ in accepted],
        "plan": [item.plan.value for _, item in accepted],
        "starts_at": [item.starts_at for _, item in accepted],
        "ends_at": [item.ends_at for _, item in accepted],
        "mrr_minor": [item.mrr_minor for _, item in accepted],
        "currency": [item.currency for _, item in accepted],
        "quantity": [item.quantity for _, item in accepted],
        "discount_minor": [item.discount_minor for _, item in accepted],
        "bill_period_months": [item.bill_period_months for _, item in accepted],
        "created_at": [now] * len(accepted),
    }


async def derive_subscriptions(
    session: AsyncSession,
    history: Mapping[uuid.UUID, Sequence[Period]],
    *,
    statuses: Mapping[uuid.UUID, str],
    now: datetime,
) -> dict[uuid.UUID, str]:
    """Write each supplier's current subscription as its periods (``history``) say it is at
    ``now`` (one statement), keeping a trialing or past-due status of ``statuses``; returns
    the status derived for each supplier whose history has begun."""
    rows = []
    for sid in sorted(history):
        current = current_subscription(history[sid], at=now, status_now=statuses[sid])
        if current is not None:
            rows.append({"id": sid, **current.as_row()})
    await repository.set_subscriptions(session, rows)
    return {row["id"]: row["subscription_status"] for row in rows}
