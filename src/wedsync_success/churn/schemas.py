"""Pydantic shapes of churn predictions and explanations (API and CLI output)."""

from __future__ import annotations

import math
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from wedsync_success.kit.limits import STORED_TEXT_PATTERN, text_problem

MAX_FEATURES = 256
"""More names than any model has features: the rest would be rejected one by one anyway."""


class Driver(BaseModel):
    feature: str
    value: float | None = Field(description="The feature's value (null when missing)")
    impact: float = Field(description="SHAP contribution in log-odds: + raises risk, - lowers it")
    text: str = Field(description="The reason, in plain words")
    direction: Literal["up", "down"] = Field(description="Whether it pushes risk up or down")


class DriverGroup(BaseModel):
    """Features that belong together (logins, billing, onboarding milestones, ...)."""

    group: str
    label: str = Field(description="The group's heading")
    impact: float = Field(
        description="Sum of the SHAP contributions of all the group's features, in log-odds"
    )
    direction: Literal["up", "down"]
    drivers: list[Driver] = Field(description="The group's biggest features, biggest first")


class ChurnPredictionOut(BaseModel):
    supplier_id: uuid.UUID | None = None
    as_of: date | None = Field(default=None, description="Features as of the end of this day")
    probability: float = Field(description="Calibrated probability of churning within the horizon")
    risk_band: str = Field(description="low, medium or high")
    horizon_days: int | None
    model_version: str
    drivers_up: list[Driver] = Field(description="Factors pushing risk up, biggest first")
    drivers_down: list[Driver] = Field(description="Factors pushing risk down, biggest first")
    groups: list[DriverGroup] = Field(
        description="The biggest groups of features, biggest combined impact first"
    )


def _check_name(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise PydanticCustomError("feature_name", problem)
    return value


def _feature_value(value: Any) -> float | str | None:
    """A number (finite) or a category label (storable text); ``None`` means unknown."""
    if value is None:
        return None
    if isinstance(value, str):
        return _label(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond the range of a float
            number = math.inf
        if math.isfinite(number):
            return number
    raise PydanticCustomError(
        "feature_value", "must be a finite number, a category label (text) or null"
    )


def _label(value: str) -> str:
    problem = text_problem(value)
    if problem is None and len(value) > 64:
        problem = "is longer than 64 characters"
    if problem is not None:
        raise PydanticCustomError("feature_label", problem)
    return value


FeatureName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_check_name)]
FeatureValue = Annotated[Any, AfterValidator(_feature_value)]
_STORED_NAME = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": STORED_TEXT_PATTERN}
_FEATURES_SCHEMA = {
    "type": "object",
    "maxProperties": MAX_FEATURES,
    "propertyNames": _STORED_NAME,
    "additionalProperties": {
        "anyOf": [
            {"type": "number"},
            {"type": "string", "maxLength": 64, "pattern": STORED_TEXT_PATTERN},
            {"type": "null"},
        ]
    },
}
"""What the spec says of ``features``: pydantic would put the key rule in
``patternProperties``, which does not constrain the names."""


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    features: Annotated[dict[FeatureName, FeatureValue], WithJsonSchema(_FEATURES_SCHEMA)] = Field(
        max_length=MAX_FEATURES,
        description="Feature name -> value. Categorical features take their label (e.g. "
        '"plan": "starter"); missing or null values are treated as unknown. Numbers must be '
        "finite (no NaN or Infinity).",
    )


CARD_METRICS: tuple[tuple[str, str], ...] = (
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("brier", "Brier score"),
    ("ece", "Expected calibration error"),
    ("threshold", "Threshold"),
    ("accuracy", "Accuracy @ threshold"),
    ("precision", "Precision @ threshold"),
    ("recall", "Recall @ threshold"),
    ("top_decile_precision", "Precision @ top decile"),
    ("top_decile_recall", "Recall @ top decile"),
    ("top_decile_lift", "Lift @ top decile"),
    ("rows", "Rows evaluated"),
    ("positives", "Churned"),
    ("base_rate", "Churn rate"),
)
"""The model card's metrics and their labels, shared by the CLI card and the HTML report."""
