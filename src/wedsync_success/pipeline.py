"""What happens when activity lands: store it, detect milestones, rescore the suppliers touched.

All of it runs in the caller's transaction, so the success events it writes to the outbox
commit together with the activity that caused them, or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity.schemas import IngestResult
from wedsync_success.activity.service import store_batch
from wedsync_success.context import AppContext
from wedsync_success.health.service import RecomputeSummary, recompute
from wedsync_success.milestones.service import detect


async def ingest(
    *, session: AsyncSession, ctx: AppContext, items: Sequence[Any], rescore: bool = True
) -> IngestResult:
    """Ingest one batch end to end; the caller commits and then wakes the dispatcher.

    ``rescore=False`` only stores and rolls up: bulk imports of history use it and call
    :func:`rescore_all` once at the end instead of rescoring after every batch.
    """
    now = ctx.clock()
    stored = await store_batch(
        session=session, items=items, now=now, max_batch_size=ctx.settings.max_batch_size
    )
    if rescore and stored.affected_supplier_ids:
        await detect(
            session=session,
            catalog=ctx.milestones,
            supplier_ids=stored.affected_supplier_ids,
            now=now,
        )
        await recompute(
            session=session,
            config=ctx.health,
            milestones_defined=len(ctx.milestones.milestones),
            as_of=now.date(),
            supplier_ids=stored.affected_supplier_ids,
            now=now,
        )
    return stored.result


async def rescore_all(*, session: AsyncSession, ctx: AppContext, as_of: date) -> RecomputeSummary:
    """Detect milestones and rescore every active supplier as of ``as_of``."""
    now = ctx.clock()
    await detect(session=session, catalog=ctx.milestones, supplier_ids=None, now=now)
    return await recompute(
        session=session,
        config=ctx.health,
        milestones_defined=len(ctx.milestones.milestones),
        as_of=as_of,
        supplier_ids=None,
        now=now,
    )
