"""Reading activity events from CSV or JSON Lines files, in batches, remembering line numbers."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.kit.limits import parse_json, safe_text

CSV_COLUMNS = ("event_id", "supplier_id", "user_id", "type", "occurred_at", "properties")

_NOT_UTF8 = re.compile("[\udc80-\udcff]")
"""What bytes that are not UTF-8 become when the file is read with ``surrogateescape``:
the line is reported instead of the whole import failing."""
NOT_UTF8 = "is not valid UTF-8 text"
_INTEGER = re.compile("-?[0-9]{1,20}")
"""An ``amount`` column that reads as an integer (longer ones stay text and are refused by
the event schema, without Python's 4,300-digit conversion error)."""


@dataclass
class FileBatch:
    """Items read from a file, with the line each came from and lines that did not parse."""

    items: list[Any] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    unreadable: list[tuple[int, str]] = field(default_factory=list)
    last_line: int = 0
    """The file's line number reached: progress counts lines, as the report does."""


def count_lines(path: Path) -> int:
    """How many lines ``path`` holds (a last line without a newline counts)."""
    lines, last = 0, b"\n"
    with path.open("rb") as raw:
        while chunk := raw.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise ValidationFailed(
        f"Cannot tell the format of {path.name}",
        details=[{"field": "file", "reason": "use a .csv, .jsonl or .ndjson file"}],
    )


def _csv_item(row: dict[str, str]) -> Any:
    """A CSV row as an event; ``properties`` holds JSON, other extra columns join it."""
    item: dict[str, Any] = {
        k: v for k, v in row.items() if k in CSV_COLUMNS and v not in ("", None)
    }
    raw_props = item.pop("properties", None)
    try:
        properties = parse_json(raw_props, what="properties column") if raw_props else {}
    except ValueError as exc:
        raise ValueError(f"properties: not valid JSON ({exc})") from None
    if not isinstance(properties, dict):
        raise ValueError("properties: must be a JSON object")
    for key, value in row.items():
        if key not in CSV_COLUMNS and key is not None and value not in ("", None):
            properties[key] = int(value) if key == "amount" and _INTEGER.fullmatch(value) else value
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
    """Yield batches of up to ``batch_size`` items; unparseable lines are reported, not fatal.

    Timestamps without an offset are rejected by the event schema unless ``timezone`` says
    where they were written (see :func:`in_zone`)."""
    fmt = detect_format(path)
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
        batch = FileBatch()
        if fmt == "jsonl":
            rows: Iterator[tuple[int, Any]] = _jsonl_rows(text)
        else:
            rows = _csv_rows(text)
        for line_no, item in rows:
            if isinstance(item, _Unreadable):
                batch.unreadable.append((line_no, item.reason))
            else:
                batch.items.append(item if timezone is None else in_zone(item, timezone))
                batch.lines.append(line_no)
            batch.last_line = line_no
            if len(batch.items) >= batch_size:
                yield batch
                batch = FileBatch(last_line=line_no)
        if batch.items or batch.unreadable:
            yield batch


@dataclass(frozen=True)
class _Unreadable:
    reason: str


def _jsonl_rows(text: io.TextIOWrapper) -> Iterator[tuple[int, Any]]:
    for line_no, line in enumerate(text, start=1):
        if not line.strip():
            continue
        if _NOT_UTF8.search(line):
            yield line_no, _Unreadable(f"the line {NOT_UTF8}")
            continue
        try:
            yield line_no, parse_json(line, what="line")
        except ValueError as exc:
            yield line_no, _Unreadable(f"not valid JSON: {safe_text(str(exc))}")


def _csv_rows(text: io.TextIOWrapper) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(text)
    missing = {"event_id", "supplier_id", "type", "occurred_at"} - set(reader.fieldnames or ())
    if missing:
        raise ValidationFailed(
            "The CSV header lacks required columns",
            details=[{"field": col, "reason": "missing column"} for col in sorted(missing)],
        )
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over csv's size limit: that row only
            yield reader.line_num + 1, _Unreadable(f"not a readable CSV row: {exc}")
            continue
        if any(_NOT_UTF8.search(v) for v in row.values() if isinstance(v, str)):
            yield reader.line_num, _Unreadable(f"the row {NOT_UTF8}")
            continue
        try:
            yield reader.line_num, _csv_item(row)
        except ValueError as exc:
            yield reader.line_num, _Unreadable(safe_text(str(exc)))
