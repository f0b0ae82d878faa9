"""Batch scoring into the prediction log, outcomes filled in later, drift, the registry."""

from __future__ import annotations

import bisect
import json
import math
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from tests.churn.conftest import END, Seeded, psi_by_hand
from wedsync_success.churn import feature_store, service
from wedsync_success.churn.features import compute_features
from wedsync_success.churn.models import ChurnPrediction, FeatureStoreDay
from wedsync_success.churn.registry import Registry
from wedsync_success.churn.serving import supplier_predictor
from wedsync_success.kit.currency import DEFAULT_RATES
from wedsync_success.kit.errors import NotFound, ValidationFailed


async def test_score_all_logs_predictions_and_later_outcomes(
    seeded_sqlite: Seeded, trained: tuple[Registry, dict[str, Any]]
) -> None:
    registry, meta = trained
    db = seeded_sqlite.ctx.db
    early = (END - timedelta(days=100)).date()
    async with db.transaction() as session:
        await session.execute(delete(ChurnPrediction))
        summary = await service.score_all(
            session=session,
            registry=registry,
            as_of=early,
            now=END - timedelta(days=99),
            rates=DEFAULT_RATES,
        )
    assert summary.model_version == meta["version"]
    assert summary.scored > 200
    assert summary.bands["high"] > 0
    assert summary.bands["low"] > 0
    assert summary.explained == summary.bands["high"]  # the default: drivers of the high band
    async with db.transaction() as session:  # the same day again replaces, never duplicates
        await service.score_all(
            session=session, registry=registry, as_of=early, now=END, rates=DEFAULT_RATES
        )
    async with db.sessions() as session:
        assert await session.scalar(select(func.count(ChurnPrediction.outcome))) == 0
    async with db.transaction() as session:
        known = await service.fill_outcomes(session=session, now=END)
    assert known.churned > 0
    assert known.churned + known.stayed == summary.scored
    async with db.transaction() as session:  # known once, never counted again
        again = await service.fill_outcomes(session=session, now=END)
    assert (again.churned, again.stayed) == (0, 0)
    async with db.sessions() as session:
        rows = (await session.scalars(select(ChurnPrediction))).all()
    assert len(rows) == summary.scored
    assert {r.model_version for r in rows} == {meta["version"]}
    high = [r for r in rows if r.risk_band == "high"]
    assert all(r.drivers and r.drivers[0]["text"] for r in high)
    assert all(r.drivers is None for r in rows if r.risk_band != "high")
    # the horizon has passed by END: every outcome is known, and matches the labels
    known = [r for r in rows if r.outcome is not None]
    assert len(known) == len(rows)
    churned = [r for r in rows if r.outcome]
    assert churned
    assert sum(r.probability for r in churned) / len(churned) > sum(
        r.probability for r in rows
    ) / len(rows)
    async with db.transaction() as session:
        quality = await service.outcome_quality(session=session, now=END, registry=registry)
    assert quality[meta["version"]]["roc_auc"] is not None
    assert quality[meta["version"]]["roc_auc"] > 0.65


async def test_scoring_reads_the_feature_store_once_it_is_at_the_day(
    seeded_sqlite: Seeded, trained: tuple[Registry, dict[str, Any]]
) -> None:
    registry, _ = trained
    db = seeded_sqlite.ctx.db
    day = (END - timedelta(days=30)).date()

    async def score() -> tuple[service.ScoreSummary, dict[Any, float]]:
        async with db.transaction() as session:
            await session.execute(delete(ChurnPrediction))
            summary = await service.score_all(
                session=session, registry=registry, as_of=day, now=END, rates=DEFAULT_RATES
            )
        async with db.sessions() as session:
            rows = (await session.execute(select(ChurnPrediction))).scalars().all()
        return summary, {r.supplier_id: r.probability for r in rows}

    async with db.transaction() as session:  # no store yet (other tests may have moved it)
        await session.execute(delete(FeatureStoreDay))
    from_rollups, expected = await score()
    async with db.transaction() as session:
        rolled = await service.roll_feature_store(session=session, as_of=day, now=END)
    assert rolled.rebuilt
    assert rolled.as_of == day
    from_store, found = await score()
    assert (from_rollups.source, from_store.source) == ("rollups", "store")
    assert found == expected  # the same features, so exactly the same probabilities


async def test_a_store_that_moves_on_before_the_read_falls_back_to_the_rollups(
    seeded_sqlite: Seeded, trained: tuple[Registry, dict[str, Any]], monkeypatch: Any
) -> None:
    """The day is checked, then another process rolls the store on before the read."""
    registry, _ = trained
    db = seeded_sqlite.ctx.db
    day = (END - timedelta(days=30)).date()
    async with db.transaction() as session:
        await session.execute(delete(FeatureStoreDay))
        await service.roll_feature_store(session=session, as_of=day + timedelta(days=2), now=END)

    async def seen_before_the_move(*_: Any, **__: Any) -> Any:
        return day

    monkeypatch.setattr(feature_store, "store_day", seen_before_the_move)
    async with db.transaction() as session:
        summary = await service.score_all(
            session=session, registry=registry, as_of=day, now=END, rates=DEFAULT_RATES
        )
    assert summary.source == "rollups"
    assert summary.scored > 200


async def test_a_failure_while_explaining_leaves_the_log_as_it_was(
    seeded_sqlite: Seeded, trained: tuple[Registry, dict[str, Any]], monkeypatch: Any
) -> None:
    """Explanations are computed in chunks while earlier chunks are written: a failure in a
    later chunk still rolls every write back."""
    registry, _ = trained
    db = seeded_sqlite.ctx.db
    calls = 0
    real = service.drivers_of_rows

    def failing_second_chunk(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("explanation failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "EXPLAIN_CHUNK", 10)
    monkeypatch.setattr(service, "drivers_of_rows", failing_second_chunk)
    async with db.transaction() as session:
        await session.execute(delete(ChurnPrediction))
    with pytest.raises(RuntimeError, match="explanation failed"):
        async with db.transaction() as session:
            await service.score_all(
                session=session,
                registry=registry,
                as_of=(END - timedelta(days=30)).date(),
                now=END,
                explain_bands=("high", "medium"),
                rates=DEFAULT_RATES,
            )
    assert calls == 2
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ChurnPrediction)) == 0


async def test_drift_compares_live_features_with_training(
    seeded_sqlite: Seeded, trained: tuple[Registry, dict[str, Any]]
) -> None:
    registry, _ = trained
    async with seeded_sqlite.ctx.db.sessions() as session:
        _version, rows, results = await service.drift(
            session=session, registry=registry, as_of=END.date()
        )
    assert rows > 200
    by_name = {d.feature: d for d in results}
    assert by_name["months_to_peak"].status == "calendar"
    # The same PSI worked out independently: the live features binned by hand on the edges
    # (or categories) kept in the model's metadata, against the shares kept there.
    predictor = supplier_predictor(registry)
    assert predictor.spec is not None
    async with seeded_sqlite.ctx.db.sessions() as session:
        live = await compute_features(session, spec=predictor.spec, as_of=END.date())
    assert len(live) == rows
    reference = predictor.metadata["drift_reference"]
    assert set(by_name) == set(live.names)
    for j, name in enumerate(live.names):
        summary = reference[name]
        counts = [0] * len(summary["shares"])
        for value in live.matrix[:, j].tolist():
            if math.isnan(value):
                counts[-1] += 1
            elif summary["kind"] == "categorical":
                counts[int(value)] += 1
            else:
                counts[bisect.bisect_right(summary["edges"], value)] += 1
        shares = [c / sum(counts) for c in counts]
        assert by_name[name].psi == pytest.approx(
            psi_by_hand(summary["shares"], shares), abs=2e-4
        ), name


def test_promote_and_rollback(trained: tuple[Registry, dict[str, Any]], tmp_path: Path) -> None:
    source, meta = trained
    registry = Registry(tmp_path / "models")
    for n in (1, 2):
        shutil.copytree(source.root / meta["version"], registry.root / f"v000{n}")
    with pytest.raises(NotFound, match="churn train"):
        registry.require_active()
    registry.promote("v0001")
    registry.promote("v0002")
    assert registry.active() == "v0002"
    assert registry.rollback() == "v0001"
    assert registry.active() == "v0001"
    with pytest.raises(NotFound):
        registry.rollback()
    with pytest.raises(NotFound, match="v0009"):
        registry.promote("v0009")
    csv_meta = json.loads((registry.root / "v0002" / "metadata.json").read_text())
    csv_meta["kind"] = "byo"
    (registry.root / "v0002" / "metadata.json").write_text(json.dumps(csv_meta))
    with pytest.raises(ValidationFailed, match="CSV"):
        registry.promote("v0002")
    assert registry.versions() == ["v0001", "v0002"]
