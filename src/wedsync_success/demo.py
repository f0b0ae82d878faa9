"""Seeding a database with the synthetic population through the real ingestion path."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from wedsync_success.context import AppContext
from wedsync_success.pipeline import ingest, rescore_all
from wedsync_success.suppliers.models import Supplier
from wedsync_success.suppliers.service import upsert_batch
from wedsync_success.synthetic import Population

if TYPE_CHECKING:
    from wedsync_success.churn.service import ScoreSummary

Progress = Callable[[str, int, int], None]
"""Called as (stage, done, total) while seeding."""


@dataclass(frozen=True)
class SeedSummary:
    suppliers: int
    events_accepted: int
    events_rejected: int
    history_days: int


def _supplier_items(population: Population, start: int, stop: int) -> list[dict[str, object]]:
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
            "users": [
                {"id": str(u.id), "email": u.email, "name": u.name, "role": u.role} for u in s.users
            ],
        }
        for s in population.suppliers[start:stop]
    ]


def history_days(end: date, *, weeks: int = 26, daily: int = 35) -> list[date]:
    """As-of days for the score history: weekly for ``weeks``, then daily for ``daily`` days."""
    days = {end - timedelta(weeks=w) for w in range(weeks, 0, -1)}
    days |= {end - timedelta(days=d) for d in range(daily, -1, -1)}
    return sorted(days)


async def is_seeded(ctx: AppContext) -> bool:
    async with ctx.db.sessions() as session:
        return bool(await session.scalar(select(func.count()).select_from(Supplier)))


async def seed(
    ctx: AppContext, population: Population, *, progress: Progress, batch_size: int = 5000
) -> SeedSummary:
    """Load suppliers and their history of events, then score them day by day."""
    now = ctx.clock()
    total = len(population.suppliers)
    for start in range(0, total, 1000):
        async with ctx.db.transaction() as session:
            await upsert_batch(
                session=session, items=_supplier_items(population, start, start + 1000), now=now
            )
        progress("suppliers", min(start + 1000, total), total)

    events = population.events
    accepted = rejected = 0
    for start in range(0, len(events), batch_size):
        stop = min(start + batch_size, len(events))
        async with ctx.db.transaction() as session:
            result = await ingest(
                session=session,
                ctx=ctx,
                items=events.records(start, stop, population.suppliers),
                rescore=False,
            )
        accepted += result.accepted
        rejected += result.rejected
        progress("events", stop, len(events))

    await ctx.db.refresh_statistics()
    days = history_days(population.end.date())
    for i, day in enumerate(days, start=1):
        async with ctx.db.transaction() as session:
            await rescore_all(session=session, ctx=ctx, as_of=day)
        progress("history", i, len(days))
    await ctx.dispatcher.drain()
    return SeedSummary(
        suppliers=total,
        events_accepted=accepted,
        events_rejected=rejected,
        history_days=len(days),
    )


async def churn_model(ctx: AppContext, registry_root: Path) -> tuple[str, ScoreSummary]:
    """Train a churn model on the seeded history, make it active, bring the feature store to
    today and score everyone.

    Returns the new version and the scoring summary. Imported late: LightGBM and the
    training stack load only here.
    """
    from wedsync_success.churn import service
    from wedsync_success.churn.registry import Registry

    registry = Registry(registry_root)
    now = ctx.clock()
    version = await service.train_suppliers(
        ctx=ctx, registry=registry, options=service.TrainOptions(promote=True), now=now
    )
    async with ctx.db.transaction() as session:
        await service.roll_feature_store(session=session, as_of=now.date(), now=now)
    async with ctx.db.transaction() as session:
        summary = await service.score_all(
            session=session, registry=registry, as_of=now.date(), now=now
        )
    return version.version, summary
