"""PostgreSQL: bulk upserts lock rows in key order whatever order the caller gives them, so
two writers of the same rows wait for each other instead of deadlocking."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from tests.conftest import FakeClock
from tests.factories import supplier
from wedsync_success.churn import repository
from wedsync_success.churn.models import ChurnPrediction
from wedsync_success.context import AppContext
from wedsync_success.kit.currency import DEFAULT_RATES
from wedsync_success.suppliers.service import upsert_batch


def _batch(ids: list[uuid.UUID], clock: FakeClock, p: float) -> repository.PredictionBatch:
    return repository.PredictionBatch(
        model_version="v-test",
        as_of=clock.now.date(),
        horizon_days=60,
        horizon_end=clock.now + timedelta(days=60),
        predicted_at=clock.now,
        supplier_ids=ids,
        probabilities=[p] * len(ids),
        risk_bands=["low"] * len(ids),
        drivers=[None] * len(ids),
    )


async def _waiting_row_locks(ctx: AppContext) -> int:
    async with ctx.db.engine.connect() as conn:
        found = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted"
                " AND pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())"
            )
        )
    return int(found or 0)


async def test_crosswise_upserts_wait_instead_of_deadlocking(
    ctx: AppContext, clock: FakeClock
) -> None:
    """The first writer holds row a; the second asks for [b, a] (sorted to a, b, so it waits
    at a holding nothing); the first then writes b. Unsorted, the second would hold b while
    waiting for a, and the first's write of b would close a deadlock."""
    if ctx.db.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    async with ctx.db.transaction() as session:
        result = await upsert_batch(session=session, items=[supplier(), supplier()], now=clock.now)
    a, b = sorted(result.ids)

    async def second() -> None:
        async with ctx.db.sessions() as session, session.begin():
            await repository.write_predictions(
                session, _batch([b, a], clock, 0.2), rates=DEFAULT_RATES
            )

    async with ctx.db.sessions() as session, session.begin():
        await repository.write_predictions(session, _batch([a], clock, 0.1), rates=DEFAULT_RATES)
        waiting = asyncio.create_task(second())
        for _ in range(2000):  # until the second writer waits for our row
            if await _waiting_row_locks(ctx) or waiting.done():
                break
            await asyncio.sleep(0.005)
        await repository.write_predictions(session, _batch([b], clock, 0.1), rates=DEFAULT_RATES)
    await waiting  # a deadlock would raise here (or above)
    async with ctx.db.sessions() as session:
        rows = (await session.execute(select(ChurnPrediction.probability))).scalars().all()
        assert await session.scalar(select(func.count()).select_from(ChurnPrediction)) == 2
    assert rows == [0.2, 0.2]  # the second writer came last and replaced both
