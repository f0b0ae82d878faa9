"""Reading records from CSV or JSON Lines files, in batches, remembering line numbers.

Every import (events, suppliers, subscriptions) reads its file here: a line that cannot be
read (bad JSON, bytes that are not UTF-8, a CSV row over the size limit) is reported with
its number and the rest of the file goes on; only a file that cannot be read at all (an
unknown format, a CSV header without the required columns) refuses the import.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.kit.limits import parse_json, safe_text

_NOT_UTF8 = re.compile("[\udc80-\udcff]")
"""What bytes that are not UTF-8 become when the file is read with ``surrogateescape``:
the line is reported instead of the whole import failing."""
NOT_UTF8 = "is not valid UTF-8 text"

CsvItem = Callable[[dict[str, str]], Any]
"""Turns one CSV row (column -> text, empty cells included) into an item; a ``ValueError``
rejects that line with its message."""


@dataclass
class FileBatch:
    """Items read from a file, with the line each came from and lines that did not parse."""

    items: list[Any] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    unreadable: list[tuple[int, str]] = field(default_factory=list)
    last_line: int = 0
    """The file's line number reached: progress counts lines, as the report does."""


def open_bytes(path: Path) -> BinaryIO:
    """``path`` open for reading, decompressed when it ends in ``.gz`` (an archive of
    ``events prune``, for one)."""
    if path.suffix.lower() == ".gz":
        return cast(BinaryIO, gzip.GzipFile(path, mode="rb"))
    return path.open("rb")


def count_lines(path: Path) -> int:
    """How many lines ``path`` holds (a last line without a newline counts)."""
    lines, last = 0, b"\n"
    with open_bytes(path) as raw:
        while chunk := raw.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def detect_format(path: Path) -> str:
    suffix = (path.with_suffix("") if path.suffix.lower() == ".gz" else path).suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise ValidationFailed(
        f"Cannot tell the format of {path.name}",
        details=[{"field": "file", "reason": "use a .csv, .jsonl or .ndjson file"}],
    )


def read_batches(
    path: Path,
    *,
    batch_size: int,
    required_columns: Collection[str | tuple[str, ...]],
    csv_item: CsvItem,
    known_columns: Collection[str] | None = None,
    transform: Callable[[Any], Any] | None = None,
) -> Iterator[FileBatch]:
    """Yield batches of up to ``batch_size`` items; unparseable lines are reported, not fatal.

    A JSONL line is an item as it is; a CSV row becomes one through ``csv_item``, and the
    header must hold ``required_columns`` (a tuple among them: one of its columns) and,
    when ``known_columns`` is given, no other column (a misspelt column would otherwise be
    silently ignored). ``transform``, when given, is applied to each item read.
    """
    fmt = detect_format(path)
    with open_bytes(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
        batch = FileBatch()
        if fmt == "jsonl":
            rows: Iterator[tuple[int, Any]] = _jsonl_rows(text)
        else:
            rows = _csv_rows(text, required_columns, known_columns, csv_item)
        for line_no, item in rows:
            if isinstance(item, _Unreadable):
                batch.unreadable.append((line_no, item.reason))
            else:
                batch.items.append(item if transform is None else transform(item))
                batch.lines.append(line_no)
            batch.last_line = line_no
            if len(batch.items) >= batch_size:
                yield batch
                batch = FileBatch(last_line=line_no)
        if batch.items or batch.unreadable:
            yield batch


def _not_utf8(row: dict[str, Any]) -> bool:
    """Whether any text cell of ``row`` holds bytes that were not UTF-8: one search over the
    joined cells (a regex call per cell cost a tenth of an event import); a row with a
    missing cell (None) or extra cells (a list) is searched cell by cell."""
    try:
        return _NOT_UTF8.search("".join(row.values())) is not None
    except TypeError:
        return any(_NOT_UTF8.search(v) for v in row.values() if isinstance(v, str))


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


def _csv_rows(
    text: io.TextIOWrapper,
    required: Collection[str | tuple[str, ...]],
    known: Collection[str] | None,
    csv_item: CsvItem,
) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(text)
    header = set(reader.fieldnames or ())
    # A header ending in a comma has a nameless column: nothing to misspell there.
    unknown = sorted(header - set(known) - {""}) if known is not None else []
    if unknown:
        raise ValidationFailed(
            f"The CSV header has columns this import does not know: {', '.join(unknown)}",
            details=[
                {"field": col, "reason": f"unknown column; known: {', '.join(known or ())}"}
                for col in unknown
            ],
        )
    missing = [
        {"field": need, "reason": "missing column"}
        if isinstance(need, str)
        else {"field": need[0], "reason": f"missing column (or {' or '.join(need[1:])})"}
        for need in required
        if not header.intersection((need,) if isinstance(need, str) else need)
    ]
    if missing:
        missing.sort(key=lambda detail: detail["field"])
        raise ValidationFailed("The CSV header lacks required columns", details=missing)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over csv's size limit: that row only
            yield reader.line_num + 1, _Unreadable(f"not a readable CSV row: {exc}")
            continue
        if _not_utf8(row):
            yield reader.line_num, _Unreadable(f"the row {NOT_UTF8}")
            continue
        try:
            yield reader.line_num, csv_item(row)
        except ValueError as exc:
            yield reader.line_num, _Unreadable(safe_text(str(exc)))
