"""Seeded synthetic populations for the churn tests (one per backend, built once per run).

The model-quality tests need realistic data: a synthetic population loaded through the real
ingestion path (suppliers API shape, ``pipeline.ingest``), milestones detected once at the
end. The score history of ``demo.seed`` is skipped: the churn model never reads it, and the
health baseline is recomputed at each cutoff by the health code itself.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FakeClock, postgres_database
from wedsync_success.churn.registry import Registry
from wedsync_success.churn.service import TrainOptions, train_suppliers
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.db import migrate
from wedsync_success.pipeline import ingest, rescore_all
from wedsync_success.suppliers.service import upsert_batch
from wedsync_success.synthetic import Population, generate_population
from wedsync_success.synthetic.loader import supplier_items

END = datetime(2026, 6, 1, tzinfo=UTC)
"""The fixed "now" of the seeded worlds."""


PSI_FLOOR = 1e-4  # the documented floor of a bin's share, so an empty bin has a finite log


def psi_by_hand(train: Sequence[float], live: Sequence[float]) -> float:
    """PSI written out term by term, from shares the test worked out itself."""
    total = 0.0
    for e, a in zip(train, live, strict=True):
        e, a = max(e, PSI_FLOOR), max(a, PSI_FLOOR)
        total += (a - e) * math.log(a / e)
    return total


@dataclass(frozen=True)
class Seeded:
    ctx: AppContext
    population: Population
    url: str


async def seed_population(ctx: AppContext, population: Population) -> None:
    """Suppliers and events through the product's ingestion path, then milestones."""
    now = ctx.clock()
    for start in range(0, len(population.suppliers), 1000):
        async with ctx.db.transaction() as session:
            await upsert_batch(
                session=session, items=supplier_items(population, start, start + 1000), now=now
            )
    events = population.events
    for start in range(0, len(events), 5000):
        stop = min(start + 5000, len(events))
        async with ctx.db.transaction() as session:
            await ingest(
                session=session,
                ctx=ctx,
                items=events.records(start, stop, population.suppliers),
                rescore=False,
            )
    async with ctx.db.transaction() as session:
        await rescore_all(session=session, ctx=ctx, as_of=END.date())


@pytest.fixture(scope="session")
async def seeded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Seeded]:
    """600 suppliers x 18 months on SQLite (about a minute to load)."""
    path: Path = tmp_path_factory.mktemp("churn") / "seeded.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrate.upgrade(url)
    population = generate_population(suppliers=600, months=18, seed=11, end=END)
    ctx = build_context(Settings(database_url=url), clock=FakeClock(END))
    await seed_population(ctx, population)
    try:
        yield Seeded(ctx=ctx, population=population, url=url)
    finally:
        await ctx.close()


@pytest.fixture(scope="session")
async def seeded_postgres() -> AsyncIterator[Seeded]:
    """A lighter population (250 suppliers x 12 months) on PostgreSQL, end to end."""
    for url in postgres_database():
        population = generate_population(suppliers=250, months=12, seed=5, end=END)
        ctx = build_context(Settings(database_url=url), clock=FakeClock(END))
        await seed_population(ctx, population)
        try:
            yield Seeded(ctx=ctx, population=population, url=url)
        finally:
            await ctx.close()


@pytest.fixture(scope="session")
async def trained(
    seeded_sqlite: Seeded, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Registry, dict[str, Any]]]:
    """A supplier model trained on the SQLite population, in its own registry (active)."""
    registry = Registry(tmp_path_factory.mktemp("registry"))
    version = await train_suppliers(
        ctx=seeded_sqlite.ctx, registry=registry, options=TrainOptions(), now=END
    )
    return registry, version.metadata
