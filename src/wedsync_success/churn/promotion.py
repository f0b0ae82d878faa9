"""When a freshly trained model may become the active one without a person deciding.

Training registers every model, whatever its quality, so its card can be read. Making it
active is another matter: a model scores every supplier and drives the playbooks. It is
made active automatically (when no model is active yet) only if its quality could be
measured on the later test window and it beats the logistic baseline fitted on the same
rows; otherwise the card lists why, and ``churn promote VERSION`` (or ``--promote``) stays
a person's explicit choice.
"""

from __future__ import annotations

from typing import Any

MIN_TEST_CHURNERS = 30
"""Fewer churners (or stayers) than this in the test window and ROC-AUC is noise: its
standard error is about 0.05 at 30 churners and 0.1 below 10."""

MIN_CSV_ROWS = 200
"""A bring-your-own file with fewer labelled rows is too small to learn from."""


def blockers(metadata: dict[str, Any]) -> list[str]:
    """Why the model described by ``metadata`` must not be made active automatically
    (empty when nothing stands in the way)."""
    if metadata["kind"] != "suppliers":
        return [*_small_file(metadata), "trained on a CSV file: only supplier models can be active"]
    reasons: list[str] = []
    test = metadata["data"]["rows"]["test"]
    churned, stayed = test["churned"], test["rows"] - test["churned"]
    if churned < MIN_TEST_CHURNERS or stayed < MIN_TEST_CHURNERS:
        reasons.append(
            f"its test window holds {churned:,} churned and {stayed:,} retained rows: at least "
            f"{MIN_TEST_CHURNERS} of each are needed to measure it"
        )
    model = metadata["metrics"]["model"].get("roc_auc")
    logistic = metadata["metrics"]["logistic"].get("roc_auc")
    if model is None:
        reasons.append("its ROC-AUC could not be measured on the test window")
    elif logistic is not None and model <= logistic:
        reasons.append(
            f"it does not beat the logistic baseline fitted on the same rows "
            f"(ROC-AUC {model:.3f} against {logistic:.3f})"
        )
    return reasons


def _small_file(metadata: dict[str, Any]) -> list[str]:
    rows = metadata["data"]["rows"]["all"]
    churned, stayed = rows["churned"], rows["rows"] - rows["churned"]
    reasons = []
    if rows["rows"] < MIN_CSV_ROWS:
        reasons.append(
            f"the file has only {rows['rows']:,} labelled rows: too few to learn from "
            f"(at least {MIN_CSV_ROWS}); its metrics are mostly noise"
        )
    if min(churned, stayed) < MIN_TEST_CHURNERS:
        reasons.append(
            f"only {min(churned, stayed):,} rows of the rarer class: at least "
            f"{MIN_TEST_CHURNERS} are needed to measure a model"
        )
    return reasons
