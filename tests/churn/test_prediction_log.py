"""The prediction log's batch write: every value round-trips, a day scored again replaces."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.factories import supplier
from wedsync_success.churn import repository
from wedsync_success.churn.models import ChurnPrediction
from wedsync_success.context import AppContext
from wedsync_success.db import bulk
from wedsync_success.kit.currency import DEFAULT_RATES
from wedsync_success.suppliers.service import upsert_batch

AS_OF = date(2026, 5, 31)
NOW = datetime(2026, 6, 1, 6, 30, 15, 123456, tzinfo=UTC)
DRIVERS = [
    {
        "feature": "days_since_login",
        "value": 21.0,
        "impact": 0.4321,
        "text": "no logins in 21 days",
        "direction": "up",
    },
    {
        "feature": "plan",
        "value": None,
        "impact": -0.05,
        "text": "plan unknown",
        "direction": "down",
    },
]


async def _suppliers(ctx: AppContext, n: int) -> list[uuid.UUID]:
    items = [supplier() for _ in range(n)]
    async with ctx.db.transaction() as session:
        await upsert_batch(session=session, items=items, now=NOW)
    return sorted(uuid.UUID(i["id"]) for i in items)


def _batch(ids: list[uuid.UUID], *, probability: float, version: str = "v0001") -> Any:
    return repository.PredictionBatch(
        model_version=version,
        as_of=AS_OF,
        horizon_days=60,
        horizon_end=datetime(2026, 7, 31, tzinfo=UTC),
        predicted_at=NOW,
        supplier_ids=ids,
        probabilities=[probability / (1 + i) for i in range(len(ids))],
        risk_bands=["high" if i % 2 else "low" for i in range(len(ids))],
        drivers=[DRIVERS if i % 2 else None for i in range(len(ids))],
    )


async def _logged(ctx: AppContext) -> list[ChurnPrediction]:
    async with ctx.db.sessions() as session:
        query = select(ChurnPrediction).order_by(ChurnPrediction.supplier_id)
        return list((await session.scalars(query)).all())


async def test_every_value_round_trips(ctx: AppContext) -> None:
    ids = await _suppliers(ctx, 4)
    batch = _batch(ids, probability=0.1234567890123)
    async with ctx.db.transaction() as session:
        await repository.write_predictions(session, batch, rates=DEFAULT_RATES)
    rows = await _logged(ctx)
    assert [r.supplier_id for r in rows] == ids
    for i, row in enumerate(rows):
        assert row.probability == batch.probabilities[i]  # exactly, not approximately
        assert row.risk_band == batch.risk_bands[i]
        assert row.drivers == batch.drivers[i]  # a list, or SQL NULL where none were computed
        assert (row.model_version, row.as_of, row.horizon_days) == ("v0001", AS_OF, 60)
        assert row.horizon_end == datetime(2026, 7, 31, tzinfo=UTC)
        assert row.predicted_at == NOW
        assert row.outcome is None


async def test_scoring_a_day_again_replaces_and_another_model_adds(ctx: AppContext) -> None:
    ids = await _suppliers(ctx, 3)
    async with ctx.db.transaction() as session:
        await repository.write_predictions(
            session, _batch(ids, probability=0.2), rates=DEFAULT_RATES
        )
    async with ctx.db.transaction() as session:
        await repository.write_predictions(
            session, _batch(ids, probability=0.6), rates=DEFAULT_RATES
        )
        await repository.write_predictions(
            session, _batch(ids, probability=0.3, version="v0002"), rates=DEFAULT_RATES
        )
    rows = await _logged(ctx)
    assert len(rows) == 6
    latest = {r.supplier_id: r.probability for r in rows if r.model_version == "v0001"}
    assert latest[ids[0]] == 0.6


async def test_a_large_batch_is_written_in_chunks(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "CHUNK", 4)
    ids = await _suppliers(ctx, 10)
    async with ctx.db.transaction() as session:
        await repository.write_predictions(
            session, _batch(ids, probability=0.5), rates=DEFAULT_RATES
        )
    rows = await _logged(ctx)
    assert [r.supplier_id for r in rows] == ids
    assert [r.probability for r in rows] == [0.5 / (1 + i) for i in range(10)]


async def test_an_unknown_supplier_fails_the_whole_batch(ctx: AppContext) -> None:
    ids = await _suppliers(ctx, 2)
    with pytest.raises(Exception, match=r"(?i)foreign key"):
        async with ctx.db.transaction() as session:
            await repository.write_predictions(
                session, _batch([*ids, uuid.uuid4()], probability=0.5), rates=DEFAULT_RATES
            )
    async with ctx.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ChurnPrediction)) == 0


async def test_an_empty_batch_writes_nothing(ctx: AppContext) -> None:
    async with ctx.db.transaction() as session:
        await repository.write_predictions(
            session, _batch([], probability=0.5), rates=DEFAULT_RATES
        )
    assert await _logged(ctx) == []
