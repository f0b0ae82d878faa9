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
from wedsync_success.suppliers.coverage import refresh_coverage
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
        default_factory=list,
        description="Suppliers whose stored periods or derived subscription changed",
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
    of the same supplier and plan (stored, or earlier in the batch).

    Set-based: the batch is staged in the database, one query finds the few periods that
    share an instant with another of their supplier and plan (only those can be refused,
    and only by each other: :func:`overlap_refusals` judges them in the batch's order), one
    statement merges the rest (only those new or saying something else than the stored
    period of their key: a file imported again writes nothing) and one derives the
    suppliers' subscriptions, writing those that change; the coverage stretches of the
    suppliers whose periods changed are rebuilt from them (``suppliers/coverage.py``)."""
    valid, rejected = validate_each(PeriodIn, items, key_field="supplier_external_id")
    wanted = {item.supplier_external_id for _, item in valid}
    ids = await repository.period_supplier_ids(session, wanted)
    await lock_suppliers(session, list(ids.values()))
    # Read again under the locks: a supplier deleted (or an external id moved) before them
    # is not written to.
    held = await repository.period_supplier_ids(session, list(ids)) if ids else {}
    known: list[tuple[int, uuid.UUID, PeriodIn]] = []
    for index, item in valid:
        sid = ids.get(item.supplier_external_id)
        if sid is None or held.get(item.supplier_external_id) != sid:
            rejected.append(
                RejectedItem(
                    index=index,
                    key=item.supplier_external_id,
                    field="supplier_external_id",
                    reason="no supplier has this external id",
                )
            )
        else:
            known.append((index, sid, item))
    refused: list[RejectedItem] = []
    updated = 0
    changed: set[uuid.UUID] = set()
    if known:
        await repository.stage_periods(session, _staged(known))
        checks = await repository.check_staged(session)
        updated = checks.already_stored
        if checks.clashing:
            candidates = [k for k in known if k[0] in checks.clashing]
            history = await repository.history_of(
                session, sorted({sid for _, sid, _ in candidates})
            )
            stored = {sid: [p for _, p in rows] for sid, rows in history.periods.items()}
            refused = overlap_refusals(candidates, stored)
            await repository.unstage_periods(session, [e.index for e in refused])
            updated -= _stored_among(refused, candidates, stored)
        changed = await repository.merge_staged_periods(session, now=now)
    rejected.extend(refused)
    rejected.sort(key=lambda e: e.index)
    dropped = {e.index for e in refused}
    accepted = [(index, sid) for index, sid, _ in known if index not in dropped]
    derived: set[uuid.UUID] = set()
    if accepted:
        batch = sorted({sid for _, sid in accepted})
        await refresh_coverage(session=session, supplier_ids=sorted(changed))
        derived = await repository.derive_staged_subscriptions(session, batch, at=now)
    return PeriodBatchResult(
        created=len(accepted) - updated,
        updated=updated,
        rejected=len(rejected),
        errors=rejected,
        supplier_ids=sorted(changed | derived),
    )


def _stored_among(
    refused: Sequence[RejectedItem],
    candidates: Sequence[tuple[int, uuid.UUID, PeriodIn]],
    stored: Mapping[uuid.UUID, Sequence[Period]],
) -> int:
    """How many of the ``refused`` items have a stored period of the same supplier, plan
    and start (counted as stored already before they were refused)."""
    keys = {(sid, p.plan, p.starts_at) for sid, periods in stored.items() for p in periods}
    by_index = {index: (sid, item) for index, sid, item in candidates}
    return sum(
        (sid, item.plan.value, item.starts_at) in keys
        for sid, item in (by_index[e.index] for e in refused)
    )


def overlap_refusals(
    items: Sequence[tuple[int, uuid.UUID, PeriodIn]],
    stored: Mapping[uuid.UUID, Sequence[Period]],
) -> list[RejectedItem]:
    """The items (``(index, supplier, period)`` in the batch's order) refused as overlapping:
    one repeating, or overlapping, a period of the same supplier and plan accepted earlier in
    the batch, or overlapping one of ``stored`` (a supplier's stored periods, oldest first)
    other than itself imported again. The first clash found is named."""
    batch: dict[uuid.UUID, list[Period]] = {}
    first_index: dict[tuple[uuid.UUID, str, datetime], int] = {}
    refused: list[RejectedItem] = []
    for index, sid, item in items:
        period = incoming(item)
        earlier = batch.setdefault(sid, [])
        same = first_index.get((sid, period.plan, period.starts_at))
        problem = None if same is None else f"repeats the period of item {same} in this batch"
        if problem is None:
            clash = overlap_of(period, earlier)
            if clash is not None:
                problem = f"overlaps {_span(clash)} earlier in this batch"
        if problem is None:
            clash = overlap_of(period, stored.get(sid, []))
            if clash is not None:
                problem = f"overlaps {_span(clash)} already stored"
        if problem is not None:
            key = item.supplier_external_id
            refused.append(RejectedItem(index=index, key=key, field="start_date", reason=problem))
            continue
        earlier.append(period)
        first_index[(sid, period.plan, period.starts_at)] = index
    return refused


def _staged(known: Sequence[tuple[int, uuid.UUID, PeriodIn]]) -> dict[str, list[Any]]:
    return {
        "idx": [index for index, _, _ in known],
        "supplier_id": [sid for _, sid, _ in known],
        "plan": [item.plan.value for _, _, item in known],
        "starts_at": [item.starts_at for _, _, item in known],
        "ends_at": [item.ends_at for _, _, item in known],
        "mrr_minor": [item.mrr_minor for _, _, item in known],
        "currency": [item.currency for _, _, item in known],
        "quantity": [item.quantity for _, _, item in known],
        "discount_minor": [item.discount_minor for _, _, item in known],
        "bill_period_months": [item.bill_period_months for _, _, item in known],
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
