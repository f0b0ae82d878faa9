"""Model quality, as the design defines it: ROC-AUC, PR-AUC, Brier score, expected calibration
error, accuracy/precision/recall at the chosen threshold and at the top decile, and lift.

Everything here is plain NumPy/scikit-learn on (label, probability) arrays, so the supplier
model, the baselines and a bring-your-own-data model are measured by the same code. Curves
are stored (downsampled) in the model card so a report can be drawn later without the data.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

# scikit-learn's metrics are imported inside the functions that measure a model, so serving
# (which only needs band_of) does not load scikit-learn.
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

ECE_BINS = 10
CURVE_POINTS = 200


def _finite(value: float) -> float | None:
    """JSON has no NaN: undefined metrics (one class only) are stored as null."""
    return None if math.isnan(value) or math.isinf(value) else round(float(value), 6)


def _bins(
    y: BoolArray, p: FloatArray, bins: int = ECE_BINS
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Rows, sum of probabilities and churners in each of ``bins`` equal-width bins."""
    index = np.minimum((p * bins).astype(np.int64), bins - 1)
    counts = np.bincount(index, minlength=bins).astype(np.float64)
    pred_sum = np.bincount(index, weights=p, minlength=bins).astype(np.float64)
    pos_sum = np.bincount(index, weights=y.astype(np.float64), minlength=bins).astype(np.float64)
    return counts, pred_sum, pos_sum


def calibration_table(y: BoolArray, p: FloatArray, bins: int = ECE_BINS) -> list[dict[str, Any]]:
    """Every equal-width bin: its edges, rows, mean prediction and churn rate (None if
    empty), the reliability diagram's points; the bins :func:`expected_calibration_error`
    averages over."""
    counts, pred_sum, pos_sum = _bins(y, p, bins)
    return [
        {
            "low": k / bins,
            "high": (k + 1) / bins,
            "count": int(counts[k]),
            "predicted": float(pred_sum[k] / counts[k]) if counts[k] else None,
            "observed": float(pos_sum[k] / counts[k]) if counts[k] else None,
        }
        for k in range(bins)
    ]


def expected_calibration_error(y: BoolArray, p: FloatArray, bins: int = ECE_BINS) -> float:
    """Mean |predicted - observed| over equal-width probability bins, weighted by bin size."""
    if y.size == 0:
        return math.nan
    counts, pred_sum, pos_sum = _bins(y, p, bins)
    used = counts > 0
    gap = np.abs(pred_sum[used] - pos_sum[used]) / counts[used]
    return float(np.sum(gap * counts[used]) / y.size)


def _top_decile(y: BoolArray, p: FloatArray) -> BoolArray:
    k = max(1, round(y.size * 0.1))
    flagged = np.zeros(y.size, dtype=np.bool_)
    flagged[np.argsort(-p, kind="stable")[:k]] = True
    return flagged


def _confusion(y: BoolArray, flagged: BoolArray) -> dict[str, float]:
    tp = float(np.sum(flagged & y))
    fp = float(np.sum(flagged & ~y))
    fn = float(np.sum(~flagged & y))
    precision = tp / (tp + fp) if tp + fp else math.nan
    recall = tp / (tp + fn) if tp + fn else math.nan
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else math.nan
    accuracy = float(np.mean(flagged == y)) if y.size else math.nan
    return {"accuracy": accuracy, "precision": precision, "recall": recall, "f1": f1}


def metrics(y: BoolArray, p: FloatArray, *, threshold: float) -> dict[str, float | None]:
    """Every quality metric of probabilities ``p`` against outcomes ``y``."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score  # type: ignore[import-untyped]

    both = y.size > 0 and 0 < int(y.sum()) < y.size
    base_rate = float(y.mean()) if y.size else math.nan
    at = _confusion(y, p >= threshold)
    top = _confusion(y, _top_decile(y, p)) if y.size else {"precision": math.nan, "recall": 0}
    lift = top["precision"] / base_rate if base_rate else math.nan
    values = {
        "rows": float(y.size),
        "positives": float(y.sum()),
        "base_rate": base_rate,
        "roc_auc": roc_auc_score(y, p) if both else math.nan,
        "pr_auc": average_precision_score(y, p) if both else math.nan,
        "brier": brier_score_loss(y, p) if y.size else math.nan,
        "ece": expected_calibration_error(y, p),
        "threshold": threshold,
        "accuracy": at["accuracy"],
        "precision": at["precision"],
        "recall": at["recall"],
        "f1": at["f1"],
        "top_decile_precision": top["precision"],
        "top_decile_recall": top["recall"],
        "top_decile_lift": lift,
    }
    return {k: _finite(float(v)) for k, v in values.items()}


def choose_threshold(y: BoolArray, p: FloatArray) -> float:
    """The probability cut that maximises F1 (chosen on the calibration slice, not the test)."""
    from sklearn.metrics import precision_recall_curve

    if not 0 < int(y.sum()) < y.size:
        return 0.5
    precision, recall, thresholds = precision_recall_curve(y, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    return float(thresholds[int(np.argmax(f1[:-1]))])


def _downsample(*arrays: FloatArray) -> list[list[float]]:
    n = arrays[0].size
    keep: list[int] = (
        np.unique(np.linspace(0, n - 1, min(n, CURVE_POINTS)).astype(np.int64)).tolist()
        if n
        else []
    )
    return [[round(float(a[i]), 5) for i in keep] for a in arrays]


def curves(y: BoolArray, p: FloatArray) -> dict[str, Any]:
    """ROC and PR curves, the reliability table and lift by decile, for the report."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    out: dict[str, Any] = {}
    if 0 < int(y.sum()) < y.size:
        fpr, tpr, _ = roc_curve(y, p)
        precision, recall, _ = precision_recall_curve(y, p)
        out["roc"] = dict(zip(("fpr", "tpr"), _downsample(fpr, tpr), strict=True))
        out["pr"] = dict(
            zip(("recall", "precision"), _downsample(recall[::-1], precision[::-1]), strict=True)
        )
    counts, pred, pos = _bins(y, p)
    used = counts > 0
    out["reliability"] = {
        "predicted": [round(float(v), 5) for v in pred[used] / counts[used]],
        "observed": [round(float(v), 5) for v in pos[used] / counts[used]],
        "count": [int(v) for v in counts[used]],
    }
    order = np.argsort(-p, kind="stable")
    deciles = np.array_split(order, 10) if y.size >= 10 else []
    base = float(y.mean()) if y.size else 0.0
    out["lift"] = [
        {
            "decile": i + 1,
            "rows": int(d.size),
            "rate": round(float(y[d].mean()), 5),
            "lift": round(float(y[d].mean()) / base, 3) if base else None,
        }
        for i, d in enumerate(deciles)
    ]
    return out


def risk_bands(base_rate: float, threshold: float) -> dict[str, float]:
    """Lower bounds of the bands: ``high`` at the threshold, ``medium`` from the base rate."""
    medium = min(base_rate, threshold * 0.999)
    return {"medium": round(medium, 6), "high": round(threshold, 6)}


def band_of(probability: FloatArray, bands: dict[str, float]) -> npt.NDArray[np.str_]:
    """``low``, ``medium`` or ``high`` for each probability."""
    return np.select(
        [probability >= bands["high"], probability >= bands["medium"]],
        ["high", "medium"],
        default="low",
    )
