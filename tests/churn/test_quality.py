"""Model quality on the seeded population, measured on a later time window than training."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from tests.churn.conftest import END, Seeded
from wedsync_success.churn import repository
from wedsync_success.churn.features import compute_features, cutoff_seconds
from wedsync_success.churn.labels import align, churn_labels
from wedsync_success.churn.registry import Registry
from wedsync_success.churn.service import feature_spec
from wedsync_success.churn.training import holdout_mask, train_model


def test_model_beats_both_baselines_and_is_calibrated(
    trained: tuple[Registry, dict[str, Any]],
) -> None:
    _, meta = trained
    model, logistic, health = (meta["metrics"][k] for k in ("model", "logistic", "health_score"))
    assert model["roc_auc"] > logistic["roc_auc"]
    assert model["brier"] < logistic["brier"]
    assert model["roc_auc"] > health["roc_auc"] + 0.03
    assert model["pr_auc"] > health["pr_auc"]
    assert model["brier"] < health["brier"]
    assert model["ece"] < 0.05
    assert model["top_decile_lift"] > 2.5


def test_the_test_window_is_later_than_training_and_purged(
    trained: tuple[Registry, dict[str, Any]],
) -> None:
    _, meta = trained
    data = meta["data"]
    horizon = timedelta(days=meta["horizon_days"])
    first_test = min(data["test_cutoffs"])
    assert max(data["train_cutoffs"]) < first_test
    # the last training label window closes before the first test cutoff
    from datetime import date

    last_train = date.fromisoformat(max(data["train_cutoffs"]))
    assert last_train + timedelta(days=1) + horizon <= date.fromisoformat(first_test) + timedelta(
        days=1
    )
    assert data["rows"]["test"]["churned"] > 30


async def test_labels_match_the_simulation_ground_truth(seeded_sqlite: Seeded) -> None:
    """The DB-derived labels agree with the generator's hidden truth (used only here)."""
    pop = seeded_sqlite.population
    as_of = (END - timedelta(days=120)).date()
    async with seeded_sqlite.ctx.db.sessions() as session:
        frame = await compute_features(session, spec=feature_spec(seeded_sqlite.ctx), as_of=as_of)
        ends = await repository.subscription_ends(session)
    labels = churn_labels(align(ends.keys, ends.ended_seconds, frame.supplier_ids), as_of, 60)
    truth = {t.supplier_id: t for t in pop.truth}
    cutoff = cutoff_seconds(as_of)
    expected = np.asarray(
        [
            truth[s].churned_at is not None
            and cutoff < truth[s].churned_at.timestamp() <= cutoff + 60 * 86_400  # type: ignore[union-attr]
            for s in frame.supplier_ids
        ]
    )
    assert labels.sum() > 10
    np.testing.assert_array_equal(labels, expected)


def test_registry_holds_model_metadata_and_report(
    trained: tuple[Registry, dict[str, Any]],
) -> None:
    registry, meta = trained
    folder: Path = registry.root / meta["version"]
    assert (folder / "model.txt").read_text().startswith("tree")
    assert "<svg" in (folder / "report.html").read_text()
    assert registry.active() == meta["version"]
    assert meta["calibration"]["method"] == "platt"


def _toy_table(n_groups: int = 400, rows_per_group: int = 3) -> tuple[Any, Any, list[str]]:
    """A small churn-like table: several rows per account, risk rising with one feature."""
    rng = np.random.default_rng(3)
    groups = [f"acct-{g}" for g in range(n_groups) for _ in range(rows_per_group)]
    x = rng.normal(size=(len(groups), 4))
    x[:, 3] = rng.integers(0, 3, len(groups))
    y = rng.random(len(groups)) < 1 / (1 + np.exp(-(1.5 * x[:, 0] - 2.0)))
    return x, y, groups


def test_trees_are_grown_on_all_training_rows_after_the_held_out_choices() -> None:
    """The calibration slice picks the rounds, calibration and threshold; the registered
    trees are then grown on the fit and calibration rows together (never the test rows)."""
    x, y, groups = _toy_table()
    held_out = holdout_mask(groups)
    test = np.asarray([g.endswith(("7", "9")) for g in groups])
    fit, calibration = ~test & ~held_out, ~test & held_out
    model = train_model(
        x,
        y,
        fit=fit,
        calibration=calibration,
        names=["a", "b", "c", "kind"],
        categorical=[3],
        params={"bagging_fraction": 1.0, "bagging_freq": 0, "min_data_in_leaf": 20},
    )
    root = model.booster.dump_model()["tree_info"][0]["tree_structure"]
    assert root["internal_count"] == int((fit | calibration).sum())
    assert model.calibration_rows == int(calibration.sum())
    assert model.best_iteration == model.booster.current_iteration() >= 1
    p = model.probabilities(x[test])
    assert 0.5 * y[test].mean() < p.mean() < 2 * y[test].mean()
