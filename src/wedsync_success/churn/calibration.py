"""Turning the booster's raw scores (log-odds) into calibrated probabilities.

Fitted on a held-out calibration slice of the training window (never the test window) and
stored as plain numbers in the model's JSON metadata, so nothing is pickled: Platt scaling is
two numbers, isotonic regression its breakpoints (applied with ``np.interp``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from wedsync_success.kit.errors import ValidationFailed

FloatArray = npt.NDArray[np.float64]
METHODS = ("platt", "isotonic")


@dataclass(frozen=True)
class Calibrator:
    """A monotone map from raw score to probability, serialisable as JSON."""

    method: str
    slope: float = 1.0
    intercept: float = 0.0
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()

    def apply(self, raw: FloatArray) -> FloatArray:
        """Probabilities for raw scores (vectorised)."""
        if self.method == "isotonic":
            result: FloatArray = np.interp(raw, np.asarray(self.x), np.asarray(self.y))
            return result
        z = self.slope * raw + self.intercept
        out: FloatArray = 1.0 / (1.0 + np.exp(-z))
        return out

    def to_json(self) -> dict[str, Any]:
        if self.method == "isotonic":
            return {"method": "isotonic", "x": list(self.x), "y": list(self.y)}
        return {"method": "platt", "slope": self.slope, "intercept": self.intercept}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibrator:
        if data["method"] == "isotonic":
            return cls(method="isotonic", x=tuple(data["x"]), y=tuple(data["y"]))
        return cls(method="platt", slope=float(data["slope"]), intercept=float(data["intercept"]))


def fit_calibrator(raw: FloatArray, labels: npt.NDArray[np.bool_], method: str) -> Calibrator:
    """Fit ``method`` (platt or isotonic) on raw scores of held-out rows."""
    # scikit-learn is imported here, not at module level: serving only applies stored
    # parameters, and the API process should not pay scikit-learn's import cost.
    from sklearn.isotonic import IsotonicRegression  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    if method not in METHODS:
        raise ValidationFailed(
            f"Unknown calibration method {method!r}",
            details=[{"field": "calibration", "reason": f"must be one of {', '.join(METHODS)}"}],
        )
    y = labels.astype(np.int64)
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
        return Calibrator(
            method="isotonic",
            x=tuple(float(v) for v in iso.X_thresholds_),
            y=tuple(float(v) for v in iso.y_thresholds_),
        )
    # Nearly unregularised: two parameters fitted on hundreds of rows do not overfit.
    model = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y)
    return Calibrator(
        method="platt", slope=float(model.coef_[0, 0]), intercept=float(model.intercept_[0])
    )
