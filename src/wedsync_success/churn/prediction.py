"""Scoring with a registered model: ``Booster.predict`` on NumPy rows, then calibration.

The scikit-learn wrapper is never used here: ``Booster.predict`` on a float64 matrix is the
fast path for one row (the API) and for 100K rows (batch scoring) alike. SHAP values
(``pred_contrib=True``) are exact but cost far more than a prediction, so they are computed
only on demand (one supplier) or for the at-risk rows of a batch.

Loaded predictors are cached per version; the active version is re-read from the registry's
pointer file on each call, so ``churn promote`` in another process takes effect at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from wedsync_success.churn.calibration import Calibrator
from wedsync_success.churn.evaluation import band_of
from wedsync_success.churn.features import FeatureSpec
from wedsync_success.churn.registry import Registry

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Predictor:
    """One model version, ready to score rows of its own feature layout."""

    version: str
    booster: lgb.Booster
    calibrator: Calibrator
    bands: dict[str, float]
    names: tuple[str, ...]
    categorical: dict[str, tuple[str, ...]]
    spec: FeatureSpec | None
    horizon_days: int | None
    metadata: dict[str, Any]

    @classmethod
    def from_metadata(cls, booster: lgb.Booster, metadata: dict[str, Any]) -> Predictor:
        features = metadata["features"]
        spec = features.get("spec")
        return cls(
            version=str(metadata["version"]),
            booster=booster,
            calibrator=Calibrator.from_json(metadata["calibration"]),
            bands={k: float(v) for k, v in metadata["risk_bands"].items()},
            names=tuple(features["names"]),
            categorical={k: tuple(v) for k, v in features.get("categorical", {}).items()},
            spec=FeatureSpec.from_json(spec) if spec else None,
            horizon_days=metadata.get("horizon_days"),
            metadata=metadata,
        )

    def raw(self, x: FloatArray, *, threads: int = 1) -> FloatArray:
        """Raw scores (log-odds before calibration); ``threads`` as for :meth:`contributions`."""
        out: FloatArray = np.asarray(
            self.booster.predict(x, raw_score=True, num_threads=threads), dtype=np.float64
        )
        return out

    def probabilities(self, x: FloatArray, *, threads: int = 1) -> FloatArray:
        """Calibrated churn probabilities of the rows of ``x``."""
        return self.calibrator.apply(self.raw(x, threads=threads))

    def risk_bands(self, probabilities: FloatArray) -> npt.NDArray[np.str_]:
        return band_of(probabilities, self.bands)

    def contributions(self, x: FloatArray, *, threads: int = 1) -> FloatArray:
        """Exact SHAP values per feature in log-odds (last column: the expected value).

        One thread by default: a single row is faster without the thread pool; batches pass
        ``threads=0`` (every core).
        """
        out: FloatArray = np.asarray(
            self.booster.predict(x, pred_contrib=True, num_threads=threads), dtype=np.float64
        )
        return out


class PredictorCache:
    """Loaded predictors by version, so a request never re-reads a model file."""

    def __init__(self) -> None:
        self._loaded: dict[tuple[str, str], Predictor] = {}
        self._lock = threading.Lock()

    def get(self, registry: Registry, version: str) -> Predictor:
        key = (str(registry.root.resolve()), version)
        cached = self._loaded.get(key)
        if cached is not None:
            return cached
        with self._lock:
            model = registry.get(version)
            booster = registry.load_booster(version)
            predictor = Predictor.from_metadata(booster, model.metadata)
            self._loaded[key] = predictor
            return predictor

    def active(self, registry: Registry) -> Predictor:
        """The active model (raises NotFound telling the user to train one)."""
        return self.get(registry, registry.require_active())


PREDICTORS = PredictorCache()
"""The process-wide cache (models are immutable once registered, so sharing is safe)."""
