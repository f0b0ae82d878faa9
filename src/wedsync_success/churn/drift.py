"""Feature drift: population stability index (PSI) of live features against training.

At training time each feature's distribution is summarised in the model's metadata: decile
edges and the share of rows in each bin (plus a bin for missing values), or the share of each
category. Live features are binned on the same edges and compared::

    PSI = sum((live - train) * ln(live / train))

Conventional reading: below 0.1 stable, 0.1-0.25 moderate shift, above 0.25 drifted.
Calendar features (months to peak season) are the same for everyone at one date and are
reported but never counted as drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

EPSILON = 1e-4
MODERATE, DRIFTED = 0.1, 0.25


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    psi: float
    status: str
    """``stable``, ``moderate``, ``drifted`` or ``calendar`` (ignored)."""


def _shares(counts: FloatArray) -> FloatArray:
    total = counts.sum()
    result: FloatArray = counts / total if total else counts
    return result


def _binned(values: FloatArray, edges: FloatArray) -> FloatArray:
    missing = np.isnan(values)
    index = np.searchsorted(edges, values[~missing], side="right")
    counts = np.bincount(index, minlength=edges.size + 1).astype(np.float64)
    return np.append(counts, float(missing.sum()))


def _categories(values: FloatArray, size: int) -> FloatArray:
    missing = np.isnan(values)
    codes = values[~missing].astype(np.int64)
    codes = codes[(codes >= 0) & (codes < size)]
    counts = np.bincount(codes, minlength=size).astype(np.float64)
    return np.append(counts, float(missing.sum()))


def reference(
    matrix: FloatArray, names: Sequence[str], categorical: dict[str, tuple[str, ...]]
) -> dict[str, Any]:
    """The training distribution of every feature, for the metadata."""
    out: dict[str, Any] = {}
    for j, name in enumerate(names):
        col = matrix[:, j]
        if name in categorical:
            shares = _shares(_categories(col, len(categorical[name])))
            out[name] = {"kind": "categorical", "shares": [round(float(s), 6) for s in shares]}
            continue
        present = col[~np.isnan(col)]
        edges = (
            np.unique(np.quantile(present, np.linspace(0.1, 0.9, 9)))
            if present.size
            else np.zeros(0)
        )
        shares = _shares(_binned(col, edges))
        out[name] = {
            "kind": "numeric",
            "edges": [float(e) for e in edges],
            "shares": [round(float(s), 6) for s in shares],
        }
    return out


def psi(expected: FloatArray, actual: FloatArray) -> float:
    e = np.clip(expected, EPSILON, None)
    a = np.clip(actual, EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def compare(
    ref: dict[str, Any],
    matrix: FloatArray,
    names: Sequence[str],
    *,
    calendar: frozenset[str] = frozenset(),
) -> list[FeatureDrift]:
    """PSI of each feature of ``matrix`` (live rows) against ``ref``, most drifted first."""
    results: list[FeatureDrift] = []
    for j, name in enumerate(names):
        summary = ref.get(name)
        if summary is None:
            continue
        expected = np.asarray(summary["shares"], dtype=np.float64)
        col = matrix[:, j]
        if summary["kind"] == "categorical":
            actual = _shares(_categories(col, expected.size - 1))
        else:
            actual = _shares(_binned(col, np.asarray(summary["edges"], dtype=np.float64)))
        value = psi(expected, actual)
        status = (
            "calendar"
            if name in calendar
            else "drifted"
            if value > DRIFTED
            else "moderate"
            if value > MODERATE
            else "stable"
        )
        results.append(FeatureDrift(feature=name, psi=round(value, 4), status=status))
    return sorted(results, key=lambda d: (d.status == "calendar", -d.psi))
