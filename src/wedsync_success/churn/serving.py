"""Live churn predictions for one supplier or one supplied record.

Kept apart from training and reporting so the API loads LightGBM and NumPy only, not
scikit-learn or matplotlib. A supplier's live prediction is written to the prediction log
(``log_prediction``), like batch scoring's, so its outcome is filled in later.
"""

from __future__ import annotations

import math
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.churn import repository
from wedsync_success.churn.explain import as_logged, drivers
from wedsync_success.churn.features import FeatureFrame, compute_features
from wedsync_success.churn.prediction import PREDICTORS, FloatArray, Predictor
from wedsync_success.churn.registry import Registry
from wedsync_success.churn.schemas import ChurnPredictionOut, Driver, DriverGroup
from wedsync_success.kit.clock import start_of_day
from wedsync_success.kit.currency import Rates
from wedsync_success.kit.errors import NotFound, ValidationFailed


def supplier_predictor(registry: Registry) -> Predictor:
    predictor = PREDICTORS.active(registry)
    if predictor.spec is None:  # pragma: no cover - promote refuses CSV models
        raise ValidationFailed("The active model was not trained on supplier features.")
    return predictor


def horizon_end_of(predictor: Predictor, as_of: date) -> datetime:
    return _horizon_end(as_of, predictor.horizon_days)


def _horizon_end(as_of: date, horizon_days: int | None) -> datetime:
    return start_of_day(as_of + timedelta(days=1 + (horizon_days or 0)))


@dataclass(frozen=True)
class _Scored:
    """What a model makes of one feature row: its probability, band and drivers."""

    predictor: Predictor
    """Held, so the predictor whose identity keys the entry outlives it."""
    probability: float
    risk_band: str
    up: list[Driver]
    down: list[Driver]
    groups: list[DriverGroup]


class ScoredRows:
    """The answers of the last ``size`` distinct (predictor, feature row) pairs.

    Scoring a row and its SHAP drivers is most of a live prediction's CPU, and a supplier
    read twice between two of its ingests has the same row: its answer is taken from here.
    The key is the predictor (a promoted model is another one) and the row's exact bytes (a
    new event changes the row), so an entry can never answer for other data; none is ever
    out of date, and the oldest is dropped past ``size``.
    """

    def __init__(self, size: int = 4_096) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[int, bytes], _Scored] = OrderedDict()

    def score(self, predictor: Predictor, row: FloatArray) -> _Scored:
        key = (id(predictor), np.ascontiguousarray(row, dtype=np.float64).tobytes())
        hit = self._entries.get(key)
        if hit is not None and hit.predictor is predictor:
            self._entries.move_to_end(key)
            return hit
        scored = _score(predictor, row)
        self._entries[key] = scored
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return scored


def _score(predictor: Predictor, row: FloatArray) -> _Scored:
    x = row.reshape(1, -1)
    probability = float(predictor.probabilities(x)[0])
    found = drivers(
        predictor.contributions(x)[0],
        row,
        predictor.names,
        spec=predictor.spec,
        categorical=predictor.categorical,
    )
    return _Scored(
        predictor=predictor,
        probability=round(probability, 6),
        risk_band=str(predictor.risk_bands(np.asarray([probability]))[0]),
        up=[Driver(**d) for d in found["up"]],
        down=[Driver(**d) for d in found["down"]],
        groups=[DriverGroup(**g) for g in found["groups"]],
    )


SCORED = ScoredRows()
"""The process's answers by (predictor, feature row)."""


def _prediction_out(
    predictor: Predictor,
    row: FloatArray,
    *,
    supplier_id: uuid.UUID | None,
    as_of: date | None,
) -> ChurnPredictionOut:
    scored = SCORED.score(predictor, row)
    return ChurnPredictionOut(
        supplier_id=supplier_id,
        as_of=as_of,
        probability=scored.probability,
        risk_band=scored.risk_band,
        horizon_days=predictor.horizon_days,
        model_version=predictor.version,
        drivers_up=list(scored.up),
        drivers_down=list(scored.down),
        groups=list(scored.groups),
    )


async def predict_supplier(
    *, session: AsyncSession, registry: Registry, supplier_id: uuid.UUID, as_of: date
) -> ChurnPredictionOut:
    """One supplier's live prediction with its drivers, through the training feature code."""
    predictor = supplier_predictor(registry)
    assert predictor.spec is not None
    # The feature store holds one row per supplier for its day (usually today): a read of
    # one row instead of aggregating 180 days of rollups. Any other day, or a supplier who
    # is not a customer, finds nothing there and goes through the definition.
    frame: FeatureFrame = await compute_features(
        session, spec=predictor.spec, as_of=as_of, supplier_ids=[supplier_id], source="store"
    )
    if not len(frame):
        frame = await compute_features(
            session, spec=predictor.spec, as_of=as_of, supplier_ids=[supplier_id]
        )
    if not len(frame):
        exists, signed_up_at, ended_at = await repository.supplier_end(session, supplier_id)
        if not exists:
            raise NotFound(f"No supplier with id {supplier_id}")
        reason = (
            f"the subscription ended on {ended_at:%Y-%m-%d}"
            if ended_at is not None
            else f"the supplier signs up on {signed_up_at:%Y-%m-%d}"
        )
        raise ValidationFailed(
            f"Supplier {supplier_id} is not a customer as of {as_of}: {reason}.",
            details=[{"field": "supplier_id", "reason": "not a customer at that date"}],
        )
    return _prediction_out(predictor, frame.matrix[0], supplier_id=supplier_id, as_of=as_of)


async def log_prediction(
    *, session: AsyncSession, prediction: ChurnPredictionOut, predicted_at: datetime, rates: Rates
) -> None:
    """Write a supplier's prediction to the prediction log, replacing the one made by the same
    model for the same supplier and day, and make it the supplier's current one unless that
    is for a later day (the caller commits)."""
    if prediction.supplier_id is None or prediction.as_of is None:
        raise ValueError("only a supplier's prediction as of a day can be logged")
    logged = as_logged({"groups": [g.model_dump() for g in prediction.groups]})
    await repository.write_predictions(
        session,
        repository.PredictionBatch(
            model_version=prediction.model_version,
            as_of=prediction.as_of,
            horizon_days=prediction.horizon_days or 0,
            horizon_end=_horizon_end(prediction.as_of, prediction.horizon_days),
            predicted_at=predicted_at,
            supplier_ids=[prediction.supplier_id],
            probabilities=[prediction.probability],
            risk_bands=[prediction.risk_band],
            drivers=[logged],
        ),
        rates=rates,
    )


def record_row(predictor: Predictor, record: dict[str, float | str | None]) -> FloatArray:
    """A feature record (name -> value) as a model row; unknown names or bad values fail."""
    known = set(predictor.names)
    errors = [
        {"field": f"features.{name}", "reason": "not a feature of the active model"}
        for name in record
        if name not in known
    ]
    row = np.full(len(predictor.names), np.nan)
    for j, name in enumerate(predictor.names):
        value = record.get(name)
        if value is None:
            continue
        vocab = predictor.categorical.get(name)
        if vocab is not None:
            if str(value) not in vocab:
                errors.append(
                    {"field": f"features.{name}", "reason": f"must be one of {', '.join(vocab)}"}
                )
                continue
            row[j] = float(vocab.index(str(value)))
        elif isinstance(value, str) or not math.isfinite(float(value)):
            errors.append({"field": f"features.{name}", "reason": "must be a finite number"})
        else:
            row[j] = float(value)
    if errors:
        raise ValidationFailed("Invalid feature record", details=errors)
    return row


def predict_record(
    *, registry: Registry, record: dict[str, float | str | None]
) -> ChurnPredictionOut:
    """Score a supplied feature record with the active model (no database involved)."""
    predictor = supplier_predictor(registry)
    return _prediction_out(predictor, record_row(predictor, record), supplier_id=None, as_of=None)
