"""Pydantic shapes of churn predictions and explanations (API and CLI output)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field


class Driver(BaseModel):
    feature: str
    value: float | None = Field(description="The feature's value (null when missing)")
    impact: float = Field(description="SHAP contribution in log-odds: + raises risk, - lowers it")
    text: str = Field(description="The reason, in plain words")
    direction: Literal["up", "down"] = Field(description="Whether it pushes risk up or down")


class ChurnPredictionOut(BaseModel):
    supplier_id: uuid.UUID | None = None
    as_of: date | None = Field(default=None, description="Features as of the end of this day")
    probability: float = Field(description="Calibrated probability of churning within the horizon")
    risk_band: str = Field(description="low, medium or high")
    horizon_days: int | None
    model_version: str
    drivers_up: list[Driver] = Field(description="Factors pushing risk up, biggest first")
    drivers_down: list[Driver] = Field(description="Factors pushing risk down, biggest first")


class PredictRequest(BaseModel):
    features: dict[str, float | str | None] = Field(
        description="Feature name -> value. Categorical features take their label (e.g. "
        '"plan": "starter"); missing or null values are treated as unknown.'
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
