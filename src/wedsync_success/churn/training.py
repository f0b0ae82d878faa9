"""Fitting the model: LightGBM with early stopping, calibration, threshold, baselines.

Shared by the supplier model and bring-your-own-data training: both hand in a feature matrix
(NaN = missing, categoricals as integer codes), labels and three disjoint row masks - *fit*,
*calibration* (never the test rows) and, for evaluation, *test*.

The procedure (docs/churn.md, "Model"):

1. Trees are grown on *fit* with early stopping on *calibration*; that gives the number of
   rounds and, from the held-out rows' raw scores, the probability calibration and the
   decision threshold. With ``groups`` (supplier ids: ``churn train`` passes them; the
   bring-your-own-data path, already cross-validated, does not) this is done ``CV_FOLDS`` times
   instead, each fold holding out a quarter of the groups (all rows of one group in one
   fold): every training row then gets an out-of-fold score, and calibration is fitted on all
   of them rather than on one quarter.
2. The registered booster is then grown on *fit* and *calibration* together for that many
   rounds (the mean over the folds), and uses that calibration and threshold. Keeping a
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
CV_FOLDS = 4
"""Folds of the cross-fitting when groups are given; one of them is the calibration slice."""


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


def _folds(
    fit: BoolArray, calibration: BoolArray, groups: Sequence[str] | None, y: BoolArray
) -> list[tuple[BoolArray, BoolArray]]:
    """(grow, held-out) row masks: the calibration slice alone, or ``CV_FOLDS`` folds of the
    groups over all training rows when groups are given (and every fold has both classes)."""
    single = [(fit, calibration)]
    if groups is None:
        return single
    rows = fit | calibration
    fold = _buckets(groups) * CV_FOLDS // 10_000
    folds = [(rows & (fold != k), rows & (fold == k)) for k in range(CV_FOLDS)]
    for grow, held in folds:
        for part in (grow, held):
            if not 0 < int(y[part].sum()) < int(part.sum()):
                return single
    return folds


@dataclass(frozen=True)
class _HeldOut:
    """What the held-out rows say about one set of parameters."""

    loss: float
    rounds: int
    raw: FloatArray
    """Raw scores of the held-out rows (NaN on rows never held out)."""


def _held_out(
    x: FloatArray,
    y: BoolArray,
    folds: list[tuple[BoolArray, BoolArray]],
    names: Sequence[str],
    categorical: Sequence[int],
    params: dict[str, Any],
) -> _HeldOut:
    """Grow on each fold's grow rows with early stopping on its held-out rows."""
    raw = np.full(y.size, np.nan)
    losses, rounds, sizes = [], [], []
    for grow, held in folds:
        train = _dataset(x[grow], y[grow], names, categorical)
        valid = lgb.Dataset(x[held], y[held].astype(np.float64), reference=train)
        booster = lgb.train(
            params,
            train,
            num_boost_round=MAX_ROUNDS,
            valid_sets=[valid],
            valid_names=["held_out"],
            callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
        )
        best = booster.best_iteration or booster.current_iteration()
        raw[held] = booster.predict(x[held], raw_score=True, num_iteration=best)
        losses.append(float(booster.best_score["held_out"]["binary_logloss"]))
        rounds.append(best)
        sizes.append(float(held.sum()))
    return _HeldOut(
        loss=float(np.average(losses, weights=sizes)),
        rounds=max(1, round(float(np.mean(rounds)))),
        raw=raw,
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
    groups: Sequence[str] | None = None,
) -> TrainedModel:
    """Choose the rounds, calibration and threshold on held-out rows (the calibration slice,
    or out-of-fold rows of ``groups``), then grow the booster on all of ``fit | calibration``."""
    _check_rows(y[fit], "training")
    _check_rows(y[calibration], "calibration")
    base = {**DEFAULT_PARAMS, **(params or {})}
    candidates = [{**base, **g} for g in TUNE_GRID] if tune else [base]
    folds = _folds(fit, calibration, groups, y)
    best: tuple[_HeldOut, dict[str, Any]] | None = None
    for candidate in candidates:
        result = _held_out(x, y, folds, names, categorical, candidate)
        if best is None or result.loss < best[0].loss:
            best = (result, candidate)
    assert best is not None
    held_out, chosen = best
    rows = fit | calibration
    booster = lgb.train(
        chosen, _dataset(x[rows], y[rows], names, categorical), num_boost_round=held_out.rounds
    )
    scored = ~np.isnan(held_out.raw)
    raw = held_out.raw[scored]
    calibrator = fit_calibrator(raw, y[scored], calibration_method)
    threshold = choose_threshold(y[scored], calibrator.apply(raw))
    base_rate = float(y[rows].mean())
    return TrainedModel(
        booster=booster,
        calibrator=calibrator,
        threshold=threshold,
        bands=risk_bands(base_rate, threshold),
        params=chosen,
        best_iteration=booster.current_iteration(),
        calibration_rows=int(scored.sum()),
    )


def logistic_baseline(
    x: FloatArray, y: BoolArray, *, fit: BoolArray, categorical: Sequence[int]
) -> Callable[[FloatArray], FloatArray]:
    """A logistic regression on the ``fit`` rows (one-hot categoricals, median imputation,
    standardisation); returns a function giving probabilities. The registered trees are grown
    on ``fit | calibration``: pass those rows for a like-for-like comparison."""
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
