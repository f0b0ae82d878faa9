"""Storing a batch of activity events: validate, deduplicate, store, roll up."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity import repository
from wedsync_success.activity.columns import EventColumns
from wedsync_success.activity.schemas import SUBSCRIPTION_EVENT_TYPES, EventIn, IngestResult
from wedsync_success.activity.validation import parse_batch
from wedsync_success.db.locks import lock_suppliers
from wedsync_success.kit.batch import RejectedItem
from wedsync_success.kit.columns import AS_UTC
from wedsync_success.kit.errors import PayloadTooLarge
from wedsync_success.suppliers import repository as suppliers_repository


@dataclass(frozen=True)
class StoredBatch:
    result: IngestResult
    batch_id: int
    """Marks the events this batch newly stored (``activity_events.batch_id``)."""
    affected_supplier_ids: list[uuid.UUID]
    subscription_events: list[EventIn]
    """Newly stored events that change a subscription, for the suppliers domain to apply."""


async def store_batch(
    *, session: AsyncSession, items: Sequence[Any], now: datetime, max_batch_size: int
) -> StoredBatch:
    """Store the valid, new events of ``items`` and fold them into the rollups.

    Invalid items are reported by index, field and reason; events whose ``event_id`` is
    already stored (or repeated within the batch) count as duplicates and change nothing.
    """
    if len(items) > max_batch_size:
        raise PayloadTooLarge(
            f"A batch holds at most {max_batch_size} events; this one has {len(items)}. "
            "Split it into smaller batches.",
            details=[{"field": "events", "reason": f"more than {max_batch_size} items"}],
        )
    parsed = parse_batch(items, now=now)
    rejected = list(parsed.rejected)
    events = await _with_supplier_ids(session, parsed.valid, rejected)
    wanted = {supplier for supplier in set(events.supplier_id) if supplier is not None}
    known = await repository.existing_supplier_ids(session, wanted)
    if not known.issuperset(events.supplier_id):
        found = [supplier in known for supplier in events.supplier_id]
        rejected.extend(
            RejectedItem(
                index=events.index[n],
                key=events.event_id[n],
                field="supplier_id",
                reason="no supplier with this id",
            )
            for n, ok in enumerate(found)
            if not ok
        )
        events = events.take([n for n, ok in enumerate(found) if ok])
    # Event id order: concurrent batches sharing ids lock them in the same order.
    events = events.take(sorted(range(len(events)), key=events.event_id.__getitem__))
    supplier_ids = cast(list[uuid.UUID], events.supplier_id)
    occurred_at = list(map(AS_UTC, events.occurred_at))
    await lock_suppliers(session, set(supplier_ids))
    pruned = await repository.pruned_before(session)  # read under the locks: see retention
    if pruned is not None and occurred_at and min(occurred_at) < pruned:
        kept = [n for n, at in enumerate(occurred_at) if at >= pruned]
        rejected.extend(
            RejectedItem(
                index=events.index[n],
                key=events.event_id[n],
                field="occurred_at",
                reason=f"is before {pruned.date().isoformat()}, where raw events were "
                "pruned (WEDSYNC_RAW_EVENT_RETENTION_MONTHS): it may already be counted",
            )
            for n, at in enumerate(occurred_at)
            if at < pruned
        )
        events = events.take(kept)
        supplier_ids = [supplier_ids[n] for n in kept]
        occurred_at = [occurred_at[n] for n in kept]
    batch_id = await repository.open_batch(session, now=now)
    stored = await repository.store_events(
        session,
        {
            "event_id": events.event_id,
            "supplier_id": supplier_ids,
            "user_id": events.user_id,
            "event_type": events.type,
            "occurred_at": occurred_at,
            "value": list(map(dict.get, events.properties, repeat("amount"))),
            "properties": events.properties,
        },
        batch_id=batch_id,
    )
    inserted, affected = stored.inserted, stored.supplier_ids
    candidates = [n for n, kind in enumerate(events.type) if kind in SUBSCRIPTION_EVENT_TYPES]
    new_subscription_ids = (
        await repository.batch_event_ids(session, batch_id, SUBSCRIPTION_EVENT_TYPES)
        if candidates and inserted
        else set()
    )
    rejected.sort(key=lambda item: item.index)
    result = IngestResult(
        accepted=inserted,
        duplicates=parsed.duplicates_in_batch + (len(events) - inserted),
        rejected=len(rejected),
        errors=rejected,
        affected_suppliers=len(affected),
    )
    return StoredBatch(
        result=result,
        batch_id=batch_id,
        affected_supplier_ids=affected,
        subscription_events=events.models(
            n for n in candidates if events.event_id[n] in new_subscription_ids
        ),
    )


async def _with_supplier_ids(
    session: AsyncSession, events: EventColumns, rejected: list[RejectedItem]
) -> EventColumns:
    """Every event with its ``supplier_id``: those that name their supplier by external id
    get it from one lookup; one naming an unknown external id joins ``rejected``."""
    wanted = {ext for ext in events.supplier_external_id if ext is not None}
    if not wanted:
        return events
    ids = await suppliers_repository.ids_by_external_id(session, sorted(wanted))
    kept: list[int] = []
    for n, ext in enumerate(events.supplier_external_id):
        if ext is None:
            kept.append(n)
        elif ext in ids:
            events.supplier_id[n] = ids[ext]
            kept.append(n)
        else:
            reason = "no supplier has this external id"
            rejected.append(
                RejectedItem(
                    index=events.index[n],
                    key=events.event_id[n],
                    field="supplier_external_id",
                    reason=reason,
                )
            )
    return events.take(kept)
