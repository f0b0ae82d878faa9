"""Storing a batch of activity events: validate, deduplicate, store, roll up."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity import repository
from wedsync_success.activity.schemas import SUBSCRIPTION_EVENT_TYPES, EventIn, IngestResult
from wedsync_success.activity.validation import parse_batch
from wedsync_success.db.locks import lock_suppliers
from wedsync_success.kit.batch import RejectedItem
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
    valid = await _with_supplier_ids(session, parsed.valid, rejected)
    known = await repository.existing_supplier_ids(
        session, (event.supplier_id for _, event in valid if event.supplier_id is not None)
    )
    stored: list[EventIn] = []
    index_of: dict[str, int] = {}
    for index, event in valid:
        if event.supplier_id not in known:
            rejected.append(
                RejectedItem(
                    index=index,
                    key=event.event_id,
                    field="supplier_id",
                    reason="no supplier with this id",
                )
            )
        else:
            stored.append(event)
            index_of[event.event_id] = index
    # Event id order: concurrent batches sharing ids lock them in the same order.
    stored.sort(key=lambda e: e.event_id)
    supplier_ids = [cast(uuid.UUID, e.supplier_id) for e in stored]
    occurred_at = [
        e.occurred_at if e.occurred_at.tzinfo is UTC else e.occurred_at.astimezone(UTC)
        for e in stored
    ]
    await lock_suppliers(session, set(supplier_ids))
    pruned = await repository.pruned_before(session)  # read under the locks: see retention
    if pruned is not None and stored and min(occurred_at) < pruned:
        kept = [n for n, at in enumerate(occurred_at) if at >= pruned]
        for event, at in zip(stored, occurred_at, strict=True):
            if at < pruned:
                rejected.append(
                    RejectedItem(
                        index=index_of[event.event_id],
                        key=event.event_id,
                        field="occurred_at",
                        reason=f"is before {pruned.date().isoformat()}, where raw events were "
                        "pruned (WEDSYNC_RAW_EVENT_RETENTION_MONTHS): it may already be counted",
                    )
                )
        stored = [stored[n] for n in kept]
        supplier_ids = [supplier_ids[n] for n in kept]
        occurred_at = [occurred_at[n] for n in kept]
    batch_id = await repository.open_batch(session, now=now)
    await repository.insert_event_columns(
        session,
        {
            "event_id": [e.event_id for e in stored],
            "supplier_id": supplier_ids,
            "user_id": [e.user_id for e in stored],
            "event_type": [e.type for e in stored],
            "occurred_at": occurred_at,
            "occurred_on": [at.date() for at in occurred_at],
            "value": [e.properties.get("amount") for e in stored],
            "properties": [e.properties for e in stored],
        },
        batch_id=batch_id,
    )
    inserted = await repository.batch_size(session, batch_id) if stored else 0
    affected = await repository.roll_up_batch(session, batch_id) if inserted else []
    subscription_candidates = [e for _, e in valid if e.type in SUBSCRIPTION_EVENT_TYPES]
    new_subscription_ids = (
        await repository.batch_event_ids(session, batch_id, SUBSCRIPTION_EVENT_TYPES)
        if subscription_candidates and inserted
        else set()
    )
    rejected.sort(key=lambda item: item.index)
    result = IngestResult(
        accepted=inserted,
        duplicates=parsed.duplicates_in_batch + (len(stored) - inserted),
        rejected=len(rejected),
        errors=rejected,
        affected_suppliers=len(affected),
    )
    return StoredBatch(
        result=result,
        batch_id=batch_id,
        affected_supplier_ids=affected,
        subscription_events=[
            e for e in subscription_candidates if e.event_id in new_subscription_ids
        ],
    )


async def _with_supplier_ids(
    session: AsyncSession, valid: list[tuple[int, EventIn]], rejected: list[RejectedItem]
) -> list[tuple[int, EventIn]]:
    """Every event with its ``supplier_id``: those that name their supplier by external id
    get it from one lookup; one naming an unknown external id joins ``rejected``."""
    wanted = [e.supplier_external_id for _, e in valid if e.supplier_external_id is not None]
    if not wanted:
        return valid
    ids = await suppliers_repository.ids_by_external_id(session, wanted)
    kept: list[tuple[int, EventIn]] = []
    for index, event in valid:
        ext = event.supplier_external_id
        if ext is None:
            kept.append((index, event))
        elif ext in ids:
            kept.append((index, event.model_copy(update={"supplier_id": ids[ext]})))
        else:
            reason = "no supplier has this external id"
            rejected.append(
                RejectedItem(
                    index=index, key=event.event_id, field="supplier_external_id", reason=reason
                )
            )
    return kept
