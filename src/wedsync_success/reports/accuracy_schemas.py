"""The published shape of the churn model's accuracy on real outcomes."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class CalibrationBin(_Out):
    """One equal-width probability bin of the reliability diagram."""

    low: float
    high: float
    count: int
    predicted: float | None = Field(description="mean predicted probability; null when empty")
    observed: float | None = Field(description="share that churned; null when empty")


class Accuracy(_Out):
    """How one model's predictions of one month (or the whole window) turned out."""

    month: date | None = Field(description="first day of the month; null for the whole window")
    model_version: str
    predictions: int = Field(description="suppliers predicted (the month's first prediction each)")
    churned: int
    base_rate: float | None = Field(description="churned / predictions")
    roc_auc: float | None = Field(description="null when only one outcome occurred")
    pr_auc: float | None
    brier: float | None
    ece: float | None = Field(description="expected calibration error over 10 equal bins")
    accuracy: float | None = Field(description="share right at the 0.5 threshold")
    precision: float | None = Field(description="at the 0.5 threshold")
    recall: float | None = Field(description="at the 0.5 threshold")
    accuracy_if_nobody_churns: float | None = Field(
        description="the accuracy of predicting that nobody churns: 1 - base_rate"
    )
    meets_claim: bool | None = Field(description="accuracy above the claimed figure")
    calibration: list[CalibrationBin]


class Claim(_Out):
    accuracy: float = Field(description="the figure claimed for the model")
    source: str
    verdict: str = Field(description="why accuracy alone does not show that a model is useful")


class ModelAccuracyReport(_Out):
    from_: date = Field(alias="from", description="first day predictions were made for")
    to: date = Field(description="the day after the window: predictions of [from, to)")
    as_of: datetime = Field(description="outcomes known by then; later horizons are pending")
    threshold: float
    months: list[Accuracy] = Field(description="per month and model version, oldest first")
    overall: list[Accuracy] = Field(description="per model version over the whole window")
    pending: int = Field(description="predictions in the window whose horizon has not ended")
    claim: Claim

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)
