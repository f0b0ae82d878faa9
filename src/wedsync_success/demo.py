"""Seeding a database with the synthetic population: bulk load, milestones, score history, churn.

The events are bulk-loaded (:mod:`wedsync_success.synthetic.loader`), which stores exactly
what the ingestion path would; milestones and scores then come from the product's own code,
once over the whole population instead of once per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from wedsync_success.access.models import TeamRole, TeamUser
from wedsync_success.access.team import create_user
from wedsync_success.context import AppContext
from wedsync_success.pipeline import recompute_network, refresh
from wedsync_success.suppliers import repository as suppliers_repository
from wedsync_success.suppliers.models import Supplier
from wedsync_success.suppliers.owners import assign_owner
from wedsync_success.synthetic import Population
from wedsync_success.synthetic.loader import EVENT_CHUNK, Progress, load_population

if TYPE_CHECKING:
    from wedsync_success.churn.registry import ModelVersion
    from wedsync_success.churn.service import ScoreSummary


@dataclass(frozen=True)
class DemoMember:
    """A success-team account of the demo, and the share of the accounts it owns."""

    email: str
    name: str
    role: TeamRole
    share: float = 0.0


DEMO_TEAM = (
    DemoMember("demo@wedsync.example", "Demo Success Manager", TeamRole.MANAGER, 0.35),
    DemoMember("maya@wedsync.example", "Maya Patel", TeamRole.MANAGER, 0.30),
    DemoMember("tom@wedsync.example", "Tom Okafor", TeamRole.MANAGER, 0.25),
    DemoMember("lena@wedsync.example", "Lena Hart", TeamRole.ADMIN),
    DemoMember("vera@wedsync.example", "Vera Lind", TeamRole.VIEWER),
)
"""Three managers own 90 % of the accounts (the rest have no owner yet), an admin leads the
team and a viewer reads: sign in as each to see what their role can do."""


async def seed_team(
    ctx: AppContext, team: Sequence[DemoMember], *, password: str
) -> dict[str, int]:
    """Create ``team`` and give each member their share of the accounts (in id order, so a
    re-seed gives the same split); returns how many accounts each email owns."""
    owned: dict[str, int] = {}
    async with ctx.db.transaction() as session:
        ids = sorted(await suppliers_repository.all_ids(session))
        start = 0
        for m in team:
            user = await create_user(
                session=session,
                email=m.email,
                name=m.name,
                password=password,
                now=ctx.clock(),
                role=m.role,
            )
            mine = ids[start : start + round(m.share * len(ids))]
            start += len(mine)
            if mine:
                await assign_owner(session=session, supplier_ids=mine, owner_id=user.id)
            owned[m.email] = len(mine)
    return owned


@dataclass(frozen=True)
class SeedSummary:
    suppliers: int
    events_stored: int
    history_days: int


def history_days(end: date, *, weeks: int = 26, daily: int = 35) -> list[date]:
    """As-of days for the score history: weekly for ``weeks``, then daily for ``daily`` days."""
    days = {end - timedelta(weeks=w) for w in range(weeks, 0, -1)}
    days |= {end - timedelta(days=d) for d in range(daily, -1, -1)}
    return sorted(days)


async def is_seeded(ctx: AppContext) -> bool:
    async with ctx.db.sessions() as session:
        return bool(await session.scalar(select(func.count()).select_from(Supplier)))


async def has_account(ctx: AppContext, email: str) -> bool:
    """Whether a dashboard account with ``email`` exists (a re-run then says how to sign in)."""
    async with ctx.db.sessions() as session:
        found = await session.scalar(
            select(func.count()).select_from(TeamUser).where(TeamUser.email == email)
        )
    return bool(found)


async def seed(
    ctx: AppContext,
    population: Population,
    *,
    progress: Progress,
    chunk: int = EVENT_CHUNK,
    team: Sequence[DemoMember] = (),
    password: str = "",
) -> SeedSummary:
    """Bulk-load suppliers and their history of events (``chunk`` events per transaction),
    create the success ``team`` with its accounts (so the playbooks' tasks go to their
    owners), detect milestones once, then score every supplier on each day of the score
    history."""
    loaded = await load_population(ctx, population, progress=progress, chunk=chunk)
    await load_surveys(ctx, population, progress=progress)
    if team:
        await seed_team(ctx, team, password=password)
    await ctx.db.refresh_statistics()
    days = history_days(population.end.date())
    progress("history", 0, len(days))
    for i, day in enumerate(days, start=1):
        async with ctx.db.transaction() as session:
            # Every event is stored already: milestones found on the first day are all there
            # are, and so is the referral network.
            if i == 1:
                await recompute_network(session=session, ctx=ctx)
            await refresh(
                session=session, ctx=ctx, as_of=day, supplier_ids=None, detect_milestones=i == 1
            )
        progress("history", i, len(days))
    progress("delivering", 0, 1)  # the success events of all that to their consumers
    await ctx.dispatcher.drain()
    progress("delivering", 1, 1)
    return SeedSummary(
        suppliers=loaded.suppliers, events_stored=loaded.events, history_days=len(days)
    )


SURVEY_CHUNK = 2000


async def load_surveys(
    ctx: AppContext, population: Population, *, progress: Progress = lambda *_: None
) -> int:
    """Store the population's simulated NPS and CSAT answers through the responses service
    (the API's path), so the demo's NPS and CSAT reports and profiles are not empty."""
    from wedsync_success.surveys.schemas import ResponseSource
    from wedsync_success.surveys.service import record_responses
    from wedsync_success.synthetic.surveys import survey_items

    items = survey_items(population)
    progress("surveys", 0, len(items))
    for start in range(0, len(items), SURVEY_CHUNK):
        batch = items[start : start + SURVEY_CHUNK]
        async with ctx.db.transaction() as session:
            result = await record_responses(
                session=session,
                items=batch,
                source=ResponseSource.IMPORT,
                max_batch_size=SURVEY_CHUNK,
                now=ctx.clock(),
            )
        assert result.rejected == 0, result.errors[:3]
        progress("surveys", start + len(batch), len(items))
    return len(items)


async def churn_model(
    ctx: AppContext, registry_root: Path, *, progress: Progress
) -> tuple[ModelVersion, ScoreSummary]:
    """Train a churn model on the seeded history, make it active, bring the feature store to
    today and score everyone.

    Returns the new version and the scoring summary. The model is made active by hand,
    whatever the promotion gate says: the demo needs one to show (its card says why the gate
    would have held it back, if it would). Imported late: LightGBM and the
    training stack load only here.
    """
    progress("features", 0, 1)  # the bar shows while LightGBM and scikit-learn load
    from wedsync_success.churn import service
    from wedsync_success.churn.registry import Registry

    registry = Registry(registry_root)
    now = ctx.clock()
    version = await service.train_suppliers(
        ctx=ctx,
        registry=registry,
        options=service.TrainOptions(promote=True),
        now=now,
        progress=progress,
    )
    progress("scoring", 0, 2)
    async with ctx.db.transaction() as session:
        await service.roll_feature_store(session=session, as_of=now.date(), now=now)
    progress("scoring", 1, 2)
    async with ctx.db.transaction() as session:
        summary = await service.score_all(
            session=session,
            registry=registry,
            as_of=now.date(),
            now=now,
            rates=ctx.settings.rates,
        )
    progress("scoring", 2, 2)
    return version, summary
