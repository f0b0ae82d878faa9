"""`churn score` while ingest lands, on both backends: every batch and the scoring succeed,
nothing is counted twice, and the feature store still equals its definition."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select, text

from tests.conftest import FakeClock
from tests.factories import event, supplier
from wedsync_success.activity.models import ActivityEvent, DailyRollup
from wedsync_success.churn import feature_store, service
from wedsync_success.churn.features import FeatureSpec, compute_features
from wedsync_success.churn.models import ChurnPrediction
from wedsync_success.churn.registry import Registry
from wedsync_success.context import AppContext
from wedsync_success.db.locks import PREDICTION_LOG_KEY, lock_prediction_log
from wedsync_success.db.unit_of_work import UnitOfWork
from wedsync_success.kit.currency import DEFAULT_RATES
from wedsync_success.pipeline import ingest
from wedsync_success.suppliers.service import upsert_batch

TYPES = ("login", "client_added", "message_sent", "form_submitted", "payment_failed")


def _batch(ids: list[str], clock: FakeClock, rng: random.Random, size: int) -> list[Any]:
    return [
        event(
            rng.choice(ids),
            rng.choice(TYPES),
            clock.now - timedelta(days=rng.randrange(90), minutes=rng.randrange(1440)),
        )
        for _ in range(size)
    ]


async def test_scoring_while_batches_land(
    ctx: AppContext, clock: FakeClock, trained: tuple[Registry, dict[str, Any]]
) -> None:
    registry, _ = trained
    rng = random.Random(4)
    signed_up = (clock.now - timedelta(days=300)).isoformat()
    async with ctx.db.transaction() as session:
        result = await upsert_batch(
            session=session,
            items=[supplier(signed_up_at=signed_up) for _ in range(40)],
            now=clock.now,
        )
    ids = [str(i) for i in result.ids]
    history = _batch(ids, clock, rng, 2000)
    await UnitOfWork(ctx.db).run(lambda s: ingest(session=s, ctx=ctx, items=history))
    today = clock.now.date()
    async with ctx.db.transaction() as session:
        await service.roll_feature_store(session=session, as_of=today, now=clock.now)

    async def score() -> service.ScoreSummary:
        async with ctx.db.transaction() as session:
            return await service.score_all(
                session=session, registry=registry, as_of=today, now=clock.now, rates=DEFAULT_RATES
            )

    batches = [_batch(ids, clock, rng, 300) for _ in range(8)]
    landed = [
        UnitOfWork(ctx.db).run(lambda s, b=b: ingest(session=s, ctx=ctx, items=b)) for b in batches
    ]
    summary, *results = await asyncio.gather(score(), *landed)

    assert summary.scored == len(ids)
    assert sum(r.accepted for r in results) == 8 * 300
    async with ctx.db.sessions() as session:
        logged = await session.scalar(select(func.count()).select_from(ChurnPrediction))
        stored = await session.scalar(select(func.count()).select_from(ActivityEvent))
        rolled = await session.scalar(select(func.sum(DailyRollup.count)))
        assert await feature_store.store_day(session) == today
        spec = FeatureSpec(milestone_keys=("first_client",))
        store = await compute_features(session, spec=spec, as_of=today, source="store")
        definition = await compute_features(session, spec=spec, as_of=today)
    assert logged == len(ids)
    assert stored == rolled == 2000 + 8 * 300
    np.testing.assert_array_equal(store.matrix, definition.matrix)


async def test_two_scoring_runs_take_turns(
    ctx: AppContext, clock: FakeClock, trained: tuple[Registry, dict[str, Any]]
) -> None:
    """Two `churn score` runs at once: the second waits for the first (PostgreSQL), both
    succeed, and the log holds each supplier once for the day."""
    registry, _ = trained
    signed_up = (clock.now - timedelta(days=300)).isoformat()
    async with ctx.db.transaction() as session:
        result = await upsert_batch(
            session=session,
            items=[supplier(signed_up_at=signed_up) for _ in range(30)],
            now=clock.now,
        )
    ids = [str(i) for i in result.ids]
    history = _batch(ids, clock, random.Random(9), 600)
    await UnitOfWork(ctx.db).run(lambda s: ingest(session=s, ctx=ctx, items=history))
    today = clock.now.date()

    async def score() -> service.ScoreSummary:
        async with ctx.db.transaction() as session:
            return await service.score_all(
                session=session, registry=registry, as_of=today, now=clock.now, rates=DEFAULT_RATES
            )

    if ctx.db.dialect == "postgresql":
        async with ctx.db.transaction() as holder:
            await lock_prediction_log(holder)
            waiting = asyncio.create_task(score())
            for _ in range(2000):  # until the run queues behind the holder's lock
                async with ctx.db.engine.connect() as conn:
                    queued = await conn.scalar(
                        text(
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                            " AND NOT granted AND objid = :k"
                        ),
                        {"k": PREDICTION_LOG_KEY & 0xFFFFFFFF},
                    )
                if queued:
                    break
                await asyncio.sleep(0.005)
            else:
                raise AssertionError("the scoring run never waited for the prediction log lock")
            assert not waiting.done()
        await asyncio.wait_for(waiting, timeout=120)
    first, second = await asyncio.gather(score(), score())

    assert first.scored == second.scored == len(ids)
    async with ctx.db.sessions() as session:
        logged = await session.scalar(select(func.count()).select_from(ChurnPrediction))
    assert logged == len(ids)
