"""End to end on PostgreSQL: train on a seeded population, score everyone, explain one."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.churn.conftest import END, Seeded
from wedsync_success.churn import service, serving
from wedsync_success.churn.models import ChurnPrediction
from wedsync_success.churn.registry import Registry
from wedsync_success.kit.currency import DEFAULT_RATES

pytestmark = pytest.mark.postgres


async def test_train_score_and_explain_on_postgres(seeded_postgres: Seeded, tmp_path: Path) -> None:
    ctx = seeded_postgres.ctx
    registry = Registry(tmp_path / "models")
    version = await service.train_suppliers(
        ctx=ctx,
        registry=registry,
        # 250 suppliers leave too few test churners for the gate: activated by hand.
        options=service.TrainOptions(test_cutoffs=2, min_history_days=60, promote=True),
        now=END,
    )
    meta = version.metadata
    assert meta["data"]["churn_known_until"] <= END.date().isoformat()
    assert registry.active() == meta["version"]
    assert meta["metrics"]["model"]["roc_auc"] > 0.6
    as_of = (END - timedelta(days=1)).date()
    async with ctx.db.transaction() as session:
        summary = await service.score_all(
            session=session, registry=registry, as_of=as_of, now=END, rates=DEFAULT_RATES
        )
    async with ctx.db.sessions() as session:
        logged = await session.scalar(select(func.count()).select_from(ChurnPrediction))
        first = (await session.scalars(select(ChurnPrediction).limit(1))).one()
        one = await serving.predict_supplier(
            session=session, registry=registry, supplier_id=first.supplier_id, as_of=as_of
        )
    assert logged == summary.scored > 50
    assert one.probability == pytest.approx(first.probability, abs=1e-6)
    assert one.model_version == meta["version"]
