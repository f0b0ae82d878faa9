"""Reading survey responses from CSV or JSON Lines files (an export of a survey tool).

A JSONL line is a response as ``POST /api/v1/surveys/responses`` takes it. A CSV row has
one column per field; the supplier comes as ``supplier_id`` or ``supplier_external_id``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wedsync_success.kit import files
from wedsync_success.kit.files import FileBatch
from wedsync_success.surveys.schemas import SurveyResponseIn

COLUMNS = tuple(SurveyResponseIn.model_fields)
REQUIRED_COLUMNS = (
    "response_id",
    "kind",
    "score",
    ("supplier_id", "supplier_external_id"),
    "responded_at",
)
_SCORE = re.compile(r"[0-9]{1,2}")


def _csv_item(row: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = {
        k: v.strip() for k, v in row.items() if k in COLUMNS and v is not None and v.strip()
    }
    score = item.get("score")
    if isinstance(score, str) and _SCORE.fullmatch(score):
        item["score"] = int(score)  # anything else stays text, for the schema to refuse
    return item


def read_batches(path: Path, *, batch_size: int) -> Iterator[FileBatch]:
    """Yield batches of up to ``batch_size`` responses; unreadable lines are reported."""
    return files.read_batches(
        path,
        batch_size=batch_size,
        required_columns=REQUIRED_COLUMNS,
        known_columns=COLUMNS,
        csv_item=_csv_item,
    )
