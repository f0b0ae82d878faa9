"""Fitting the model: LightGBM with early stopping, calibration, threshold, baselines.

Shared by the supplier model and bring-your-own-data training: both hand in a feature matrix
(NaN = missing, categoricals as integer codes), labels and three disjoint row masks - *fit*,
*calibration* (never the test rows) and, for evaluation, *test*.

The procedure (docs/churn.md, "Model"):

1. Trees are grown on *fit* with early stopping on *calibration*; that gives the number of
   rounds and, from the held-out rows' raw scores, the probability calibration and the
   decision threshold.
2. The registered booster is then grown on *fit* and *calibration* together for that many
   rounds, and uses that calibration and threshold. Keeping a
   quarter of the training rows away from the trees for good wasted them: on the demo
   populations, growing the registered trees on every training row is worth about +0.004
   test-window ROC-AUC (a logistic model gains about as much from those rows).

Hyper-parameters (``DEFAULT_PARAMS``) are deliberately conservative for tables of thousands
to hundreds of thousands of rows: very small trees (4 leaves, so at most 3-way
interactions) with at least 100 rows per leaf, learning rate 0.02, half the features per
tree and 80 % bagging, up to 3,000 rounds stopped after 200 without improvement of the
held-out log-loss. ``--tune`` picks from a small grid by the same held-out log-loss. One
thread: these data sets are small, and OpenMP threads spinning against other processes on a
2-core machine make training many times slower, not faster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
from sklearn.impute import SimpleImputer  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]
from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

from wedsync_success.churn.calibration import Calibrator, fit_calibrator
from wedsync_success.churn.evaluation import choose_threshold, risk_bands
from wedsync_success.kit.errors import ValidationFailed

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.02,
    "num_leaves": 4,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.5,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 10.0,
    "min_data_per_group": 50,
    "max_cat_to_onehot": 8,
    "num_threads": 1,
    "deterministic": True,
    "seed": 7,
    "verbose": -1,
}
MAX_ROUNDS = 3000
EARLY_STOPPING_ROUNDS = 200
TUNE_GRID: tuple[dict[str, Any], ...] = (
    {},
    {"num_leaves": 2, "learning_rate": 0.03},
    {"num_leaves": 7, "min_data_in_leaf": 100},
    {"num_leaves": 4, "min_data_in_leaf": 50},
    {"num_leaves": 4, "min_data_in_leaf": 200},
    {"num_leaves": 4, "feature_fraction": 0.3},
    {"num_leaves": 4, "lambda_l2": 10.0},
    {"num_leaves": 15, "min_data_in_leaf": 100, "learning_rate": 0.01},
)
"""Variants of ``DEFAULT_PARAMS`` tried by ``--tune`` (the first is the default itself)."""
CALIBRATION_SHARE = 0.25


@dataclass(frozen=True)
class TrainedModel:
    """The registered booster, with what turns its output into decisions."""

    booster: lgb.Booster
    calibrator: Calibrator
    threshold: float
    bands: dict[str, float]
    params: dict[str, Any]
    best_iteration: int
    calibration_rows: int

    def probabilities(self, x: FloatArray) -> FloatArray:
        raw: FloatArray = np.asarray(self.booster.predict(x, raw_score=True), dtype=np.float64)
        return self.calibrator.apply(raw)


def _buckets(keys: Sequence[str]) -> npt.NDArray[np.int64]:
    """A stable bucket 0..9999 of each key (a hash, not Python's salted ``hash``)."""
    return np.asarray(
        [int(hashlib.sha256(k.encode()).hexdigest()[:8], 16) % 10_000 for k in keys],
        dtype=np.int64,
    )


def holdout_mask(keys: Sequence[str], share: float = CALIBRATION_SHARE) -> BoolArray:
    """A stable pseudo-random ``share`` of the keys (a hash of each), e.g. supplier ids.

    Holding out whole suppliers - all of their cutoff rows - keeps one supplier from being on
    both sides of the calibration split.
    """
    result: BoolArray = _buckets(keys) < int(share * 10_000)
    return result


def _check_rows(y: BoolArray, name: str) -> None:
    positives = int(y.sum())
    if y.size == 0 or positives == 0 or positives == y.size:
        raise ValidationFailed(
            f"The {name} rows hold only one class ({positives} churned of {y.size}); "
            "a model needs both churned and retained examples.",
            details=[{"field": name, "reason": "needs both classes"}],
        )


def _dataset(
    x: FloatArray, y: BoolArray, names: Sequence[str], categorical: Sequence[int]
) -> lgb.Dataset:
    return lgb.Dataset(
        x,
        y.astype(np.float64),
        feature_name=list(names),
        categorical_feature=list(categorical),
        free_raw_data=False,
    )


@dataclass(frozen=True)
class _HeldOut:
    """What the calibration slice says about one set of parameters."""

    loss: float
    rounds: int
    raw: FloatArray
    """Raw scores of the calibration rows."""


def _held_out(
    x: FloatArray,
    y: BoolArray,
    fit: BoolArray,
    calibration: BoolArray,
    names: Sequence[str],
    categorical: Sequence[int],
    params: dict[str, Any],
) -> _HeldOut:
    """Grow on the fit rows with early stopping on the calibration rows."""
    train = _dataset(x[fit], y[fit], names, categorical)
    valid = lgb.Dataset(x[calibration], y[calibration].astype(np.float64), reference=train)
    booster = lgb.train(
        params,
        train,
        num_boost_round=MAX_ROUNDS,
        valid_sets=[valid],
        valid_names=["held_out"],
        callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
    )
    best = booster.best_iteration or booster.current_iteration()
    return _HeldOut(
        loss=float(booster.best_score["held_out"]["binary_logloss"]),
        rounds=best,
        raw=np.asarray(
            booster.predict(x[calibration], raw_score=True, num_iteration=best), dtype=np.float64
        ),
    )


def train_model(
    x: FloatArray,
    y: BoolArray,
    *,
    fit: BoolArray,
    calibration: BoolArray,
    names: Sequence[str],
    categorical: Sequence[int],
    tune: bool = False,
    calibration_method: str = "platt",
    params: dict[str, Any] | None = None,
) -> TrainedModel:
    """Choose the rounds, calibration and threshold on the calibration slice, then grow the
    booster on all of ``fit | calibration``."""
    _check_rows(y[fit], "training")
    _check_rows(y[calibration], "calibration")
    base = {**DEFAULT_PARAMS, **(params or {})}
    candidates = [{**base, **g} for g in TUNE_GRID] if tune else [base]
    best: tuple[_HeldOut, dict[str, Any]] | None = None
    for candidate in candidates:
        result = _held_out(x, y, fit, calibration, names, categorical, candidate)
        if best is None or result.loss < best[0].loss:
            best = (result, candidate)
    assert best is not None
    held_out, chosen = best
    rows = fit | calibration
    booster = lgb.train(
        chosen, _dataset(x[rows], y[rows], names, categorical), num_boost_round=held_out.rounds
    )
    calibrator = fit_calibrator(held_out.raw, y[calibration], calibration_method)
    threshold = choose_threshold(y[calibration], calibrator.apply(held_out.raw))
    base_rate = float(y[rows].mean())
    return TrainedModel(
        booster=booster,
        calibrator=calibrator,
        threshold=threshold,
        bands=risk_bands(base_rate, threshold),
        params=chosen,
        best_iteration=booster.current_iteration(),
        calibration_rows=int(calibration.sum()),
    )


def logistic_baseline(
    x: FloatArray, y: BoolArray, *, fit: BoolArray, categorical: Sequence[int]
) -> Callable[[FloatArray], FloatArray]:
    """A logistic regression on the ``fit`` rows (one-hot categoricals, median imputation,
    standardisation); returns a function giving probabilities. The registered trees are grown
    on ``fit | calibration``: ``churn train`` passes those rows, so the comparison is like
    for like."""
    _check_rows(y[fit], "training")
    levels = {c: np.unique(x[fit, c][~np.isnan(x[fit, c])]) for c in categorical}
    numeric = [i for i in range(x.shape[1]) if i not in set(categorical)]

    def design(rows: FloatArray) -> FloatArray:
        parts = [rows[:, numeric]]
        for c, values in levels.items():
            parts.append((rows[:, c][:, None] == values[None, :]).astype(np.float64))
        result: FloatArray = np.column_stack(parts)
        return result

    train = design(x[fit])
    # A column that is missing everywhere in training has no median to impute: drop it.
    keep = ~np.all(np.isnan(train), axis=0)
    model = make_pipeline(
        SimpleImputer(strategy="median"),
        StandardScaler(),
        LogisticRegression(C=1.0, max_iter=5000),
    )
    model.fit(train[:, keep], y[fit].astype(np.int64))

    def predict(rows: FloatArray) -> FloatArray:
        out: FloatArray = model.predict_proba(design(rows)[:, keep])[:, 1]
        return out

    return predict


def feature_importance(booster: lgb.Booster) -> dict[str, float]:
    """Total gain of each feature, largest first."""
    gains = booster.feature_importance(importance_type="gain")
    pairs = sorted(
        zip(booster.feature_name(), (float(g) for g in gains), strict=True),
        key=lambda p: -p[1],
    )
    return {name: round(gain, 3) for name, gain in pairs}
