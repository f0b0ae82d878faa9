"""Reading activity events from CSV or JSON Lines files (see :mod:`kit.files`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, tzinfo
from functools import partial
from pathlib import Path
from typing import Any

from wedsync_success.kit import files
from wedsync_success.kit.files import FileBatch
from wedsync_success.kit.limits import parse_json

CSV_COLUMNS = (
    "event_id",
    "supplier_id",
    "supplier_external_id",
    "user_id",
    "type",
    "occurred_at",
    "properties",
)
_COLUMN_SET = frozenset(CSV_COLUMNS)
REQUIRED_COLUMNS = ("event_id", ("supplier_id", "supplier_external_id"), "type", "occurred_at")
_INTEGER = re.compile("-?[0-9]{1,20}")
"""An ``amount`` column that reads as an integer (longer ones stay text and are refused by
the event schema, without Python's 4,300-digit conversion error)."""


def _csv_item(row: dict[str, str]) -> Any:
    """A CSV row as an event; ``properties`` holds JSON, other extra columns join it."""
    item: dict[str, Any] = {k: v for k, v in row.items() if v}  # not "" nor None
    if not item.keys() <= _COLUMN_SET:  # extra columns: they go into properties
        item = {k: v for k, v in item.items() if k in _COLUMN_SET}
    raw_props = item.pop("properties", None)
    try:
        properties = parse_json(raw_props, what="properties column") if raw_props else {}
    except ValueError as exc:
        raise ValueError(f"properties: not valid JSON ({exc})") from None
    if not isinstance(properties, dict):
        raise ValueError("properties: must be a JSON object")
    if not row.keys() <= _COLUMN_SET:
        for key, value in row.items():
            if key not in _COLUMN_SET and key is not None and value not in ("", None):
                properties[key] = (
                    int(value) if key == "amount" and _INTEGER.fullmatch(value) else value
                )
    item["properties"] = properties
    return item


def in_zone(item: Any, zone: tzinfo) -> Any:
    """``item`` with an ``occurred_at`` written without an offset read as local time in
    ``zone`` (the earlier of a repeated hour when clocks go back); anything else unchanged,
    for the event schema to judge."""
    if not isinstance(item, dict):
        return item
    text = item.get("occurred_at")
    if not isinstance(text, str):
        return item
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return item
    if moment.tzinfo is not None:
        return item
    return {**item, "occurred_at": moment.replace(tzinfo=zone).isoformat()}


def read_batches(
    path: Path, *, batch_size: int, timezone: tzinfo | None = None
) -> Iterator[FileBatch]:
    """Yield batches of up to ``batch_size`` events; unparseable lines are reported, not fatal.

    Timestamps without an offset are rejected by the event schema unless ``timezone`` says
    where they were written (see :func:`in_zone`)."""
    return files.read_batches(
        path,
        batch_size=batch_size,
        required_columns=REQUIRED_COLUMNS,
        csv_item=_csv_item,
        transform=None if timezone is None else partial(in_zone, zone=timezone),
    )
