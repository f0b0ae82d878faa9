"""What happens when activity lands: store it, detect milestones, rescore the suppliers touched.

All of it runs in the caller's transaction, so the success events it writes to the outbox
commit together with the activity that caused them, or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity import repository as activity_repository
from wedsync_success.activity.schemas import IngestResult
from wedsync_success.activity.service import StoredBatch, store_batch
from wedsync_success.activity.tickets import announce_closed_tickets
from wedsync_success.churn import feature_store
from wedsync_success.churn import repository as churn_repository
from wedsync_success.context import AppContext
from wedsync_success.db.locks import lock_population, lock_suppliers
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEventType
from wedsync_success.health.service import RecomputeSummary, recompute
from wedsync_success.integrations.referrals import service as referrals
from wedsync_success.milestones.service import detect
from wedsync_success.segments.service import evaluate as evaluate_segments
from wedsync_success.suppliers.subscription_events import apply_subscription_events


async def ingest(
    *, session: AsyncSession, ctx: AppContext, items: Sequence[Any], rescore: bool = True
) -> IngestResult:
    """Ingest one batch end to end; the caller commits and then wakes the dispatcher.

    ``rescore=False`` only stores and rolls up (:func:`store`).
    """
    stored = await store(session=session, ctx=ctx, items=items)
    if rescore and stored.affected_supplier_ids:
        await refresh(
            session=session,
            ctx=ctx,
            as_of=ctx.clock().date(),
            supplier_ids=stored.affected_supplier_ids,
        )
    return stored.result


async def store(
    *,
    session: AsyncSession,
    ctx: AppContext,
    items: Sequence[Any],
    max_batch_size: int | None = None,
) -> StoredBatch:
    """Store one batch, roll it up and apply what it says of subscriptions, without
    rescoring: an import of many batches calls it for each, then :func:`rescore_touched`
    once; rescoring after every batch scored the same suppliers as of today over and over.

    ``max_batch_size`` (default: the API's, ``WEDSYNC_MAX_BATCH_SIZE``) is larger for an
    import of history (``import events --history``)."""
    now = ctx.clock()
    stored = await store_batch(
        session=session,
        items=items,
        now=now,
        max_batch_size=max_batch_size or ctx.settings.max_batch_size,
    )
    if stored.subscription_events:
        changed = await apply_subscription_events(
            session=session, events=stored.subscription_events, now=now
        )
        await reprice_churn(session=session, ctx=ctx, supplier_ids=changed)
    if stored.result.accepted:
        await feature_store.apply_batch(session, stored.batch_id)
        await referrals.fold_batch(session=session, batch_id=stored.batch_id)
        await announce_payment_failures(session=session, batch_id=stored.batch_id, now=now)
        await announce_closed_tickets(
            session=session, batch_id=stored.batch_id, settings=ctx.settings, now=now
        )
    return stored


RESCORE_EVERYONE_FROM = 5000
"""A bulk import that touched more suppliers than this rescores everyone (one set-based
pass, cheaper than a list of ids that long)."""


async def rescore_touched(
    *, session: AsyncSession, ctx: AppContext, supplier_ids: Collection[uuid.UUID], as_of: date
) -> RecomputeSummary:
    """Detect milestones and rescore, once, the suppliers a bulk import touched."""
    if len(supplier_ids) > RESCORE_EVERYONE_FROM:
        return await rescore_all(session=session, ctx=ctx, as_of=as_of)
    ids = sorted(supplier_ids)
    await lock_suppliers(session, ids)
    await recompute_network(session=session, ctx=ctx)
    return await refresh(session=session, ctx=ctx, as_of=as_of, supplier_ids=ids)


async def recompute_network(*, session: AsyncSession, ctx: AppContext) -> None:
    """The referral network's metrics afresh (one set-based pass over every edge), before
    the health score's network component reads them: after an import, and when everyone is
    rescored. A single API batch does not: its edges wait for the next of these."""
    await referrals.compute(session=session, rule=referrals.rule_of(ctx.settings), now=ctx.clock())


async def reprice_churn(
    *, session: AsyncSession, ctx: AppContext, supplier_ids: Sequence[uuid.UUID]
) -> None:
    """Keep the priority order right after ``supplier_ids``' MRR or currency may have changed
    (subscription events, supplier updates): their current churn prediction's expected MRR
    lost is priced again from the supplier rows as they are now."""
    await churn_repository.price_current(
        session, rates=ctx.settings.rates, supplier_ids=supplier_ids, now=ctx.clock()
    )


PAYMENT_FAILURE_WINDOW = timedelta(days=7)
"""A failed charge older than this when it arrives (an import of history) is history, not
a reason to act: it is stored and scored, but announces nothing."""


async def announce_payment_failures(*, session: AsyncSession, batch_id: int, now: datetime) -> int:
    """A ``supplier.payment_failed`` success event per recent failed subscription charge the
    batch newly stored (a duplicate is not newly stored, so it announces nothing)."""
    failures = await activity_repository.failed_charges(
        session, batch_id, since=now - PAYMENT_FAILURE_WINDOW
    )
    return await enqueue(
        session=session,
        events=[
            NewEvent(
                event_type=SuccessEventType.PAYMENT_FAILED,
                supplier_id=supplier_id,
                occurred_at=occurred_at,
                payload={
                    "activity_event_id": event_id,
                    "amount": properties.get("amount"),
                    "reason": properties.get("reason"),
                },
            )
            for event_id, supplier_id, occurred_at, properties in failures
        ],
        now=now,
    )


async def refresh(
    *,
    session: AsyncSession,
    ctx: AppContext,
    as_of: date,
    supplier_ids: Sequence[uuid.UUID] | None,
    detect_milestones: bool = True,
) -> RecomputeSummary:
    """Detect milestones, rescore ``supplier_ids`` (every active supplier when ``None``) and
    bring their segment memberships up to date.

    The caller locked ``supplier_ids`` (they are the ones it wrote); rescoring everyone
    takes the population lock here, first.
    """
    if supplier_ids is None:
        await lock_population(session)
    now = ctx.clock()
    if detect_milestones:
        await detect(session=session, catalog=ctx.milestones, supplier_ids=supplier_ids, now=now)
    summary = await recompute(
        session=session,
        config=ctx.health,
        milestones_defined=len(ctx.milestones.milestones),
        as_of=as_of,
        supplier_ids=supplier_ids,
        now=now,
    )
    # Segments follow the scores they read: the same suppliers, now, in this transaction.
    await evaluate_segments(
        session=session, catalog=ctx.segments, now=now, supplier_ids=supplier_ids
    )
    return summary


async def rescore_all(*, session: AsyncSession, ctx: AppContext, as_of: date) -> RecomputeSummary:
    """Recompute the referral network, detect milestones and rescore every active supplier
    as of ``as_of`` (the population lock first: the network is everyone's)."""
    await lock_population(session)
    await recompute_network(session=session, ctx=ctx)
    return await refresh(session=session, ctx=ctx, as_of=as_of, supplier_ids=None)
