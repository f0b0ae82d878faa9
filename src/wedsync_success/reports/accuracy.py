"""The churn model's accuracy on what really happened, month by month, beside the claim.

Every logged prediction whose horizon has ended has a realised outcome; the report measures
them with the same functions as the model card (``churn.evaluation``), so the figures are
comparable with the held-out ones. Accuracy at 0.5 is shown because it was claimed, and next
to it the accuracy of predicting that nobody churns, which at a low churn rate is as high:
ROC-AUC, PR-AUC, Brier and calibration say whether the probabilities are worth acting on.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.churn.evaluation import BoolArray, FloatArray, calibration_table, metrics
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.reports import accuracy_repository as repo
from wedsync_success.reports.accuracy_schemas import (
    Accuracy,
    CalibrationBin,
    Claim,
    ModelAccuracyReport,
)

THRESHOLD = 0.5
CLAIMED_ACCURACY = 0.85
CLAIM_SOURCE = "the product brief: churn prediction with > 85 % accuracy"


def _accuracy(month: date | None, version: str, y: BoolArray, p: FloatArray) -> Accuracy:
    m = metrics(y, p, threshold=THRESHOLD)
    base = m["base_rate"]
    accuracy = m["accuracy"]
    return Accuracy(
        month=month,
        model_version=version,
        predictions=int(y.size),
        churned=int(y.sum()),
        base_rate=base,
        roc_auc=m["roc_auc"],
        pr_auc=m["pr_auc"],
        brier=m["brier"],
        ece=m["ece"],
        accuracy=accuracy,
        precision=m["precision"],
        recall=m["recall"],
        accuracy_if_nobody_churns=None if base is None else round(1.0 - base, 6),
        meets_claim=None if accuracy is None else accuracy > CLAIMED_ACCURACY,
        calibration=[CalibrationBin(**b) for b in calibration_table(y, p)],
    )


def _verdict(overall: list[Accuracy]) -> str:
    general = (
        "Accuracy alone misleads when few suppliers churn: a model that predicts that nobody "
        "churns is right for every supplier who stays, so its accuracy is one minus the churn "
        "rate while it finds no churner at all. ROC-AUC (does it rank churners first), "
        "PR-AUC (how precise it is on the rare churners), the Brier score and the calibration "
        "(do its probabilities come true) say whether it is worth acting on."
    )
    measured = [a for a in overall if a.accuracy is not None and a.base_rate is not None]
    if not measured:
        return "No prediction's horizon has ended in the window yet. " + general
    best = max(measured, key=lambda a: a.predictions)
    assert best.accuracy is not None
    assert best.base_rate is not None
    auc = "undefined" if best.roc_auc is None else f"{best.roc_auc:.3f}"
    return (
        f"Model {best.model_version}: accuracy {best.accuracy:.1%} at the 0.5 threshold over "
        f"{best.predictions:,} realised predictions, where predicting that nobody churns "
        f"scores {1 - best.base_rate:.1%} (churn rate {best.base_rate:.1%}); ROC-AUC {auc}. "
        + general
    )


async def model_accuracy(
    *, session: AsyncSession, start: date, end: date, as_of: datetime
) -> ModelAccuracyReport:
    """Accuracy of the predictions made in ``[start, end)`` whose outcome is known at
    ``as_of``, per month and model version and over the window."""
    if end <= start:
        reason = "must be after from: the window is [from, to)"
        raise ValidationFailed(f"to {reason}", details=[{"field": "to", "reason": reason}])
    data = await repo.monthly_outcomes(session, start=start, end=end, known_by=as_of)
    rows: list[Accuracy] = []
    groups = set(zip(data.month.tolist(), data.model_version.tolist(), strict=True))
    for month, version in sorted(groups):
        chosen = (data.month == month) & (data.model_version == version)
        first_day = date.fromisoformat(f"{month}-01")
        rows.append(_accuracy(first_day, version, data.churned[chosen], data.probability[chosen]))
    overall = [
        _accuracy(None, version, data.churned[chosen], data.probability[chosen])
        for version in sorted(set(data.model_version.tolist()))
        if (chosen := data.model_version == version).any()
    ]
    pending = await repo.pending_predictions(session, start=start, end=end, known_by=as_of)
    return ModelAccuracyReport(
        from_=start,
        to=end,
        as_of=as_of,
        threshold=THRESHOLD,
        months=rows,
        overall=overall,
        pending=pending,
        claim=Claim(accuracy=CLAIMED_ACCURACY, source=CLAIM_SOURCE, verdict=_verdict(overall)),
    )
