"""Reading event files: format by suffix, CSV columns and properties, batches, line numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wedsync_success.activity.importer import read_batches
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.kit.files import detect_format

HEADER = "event_id,supplier_id,type,occurred_at,properties,amount,plan\n"
SUPPLIER = "7d3c0e0e-6a39-4f59-9d1b-1f1b8c1b0a11"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.jsonl", "jsonl"), ("a.NDJSON", "jsonl"), ("a.json", "jsonl"), ("a.CSV", "csv")],
)
def test_the_format_comes_from_the_suffix(name: str, expected: str) -> None:
    assert detect_format(Path(name)) == expected


def test_an_unknown_suffix_is_refused_naming_the_file() -> None:
    with pytest.raises(ValidationFailed) as refused:
        detect_format(Path("events.xlsx"))
    assert "events.xlsx" in str(refused.value)
    assert refused.value.details == [
        {"field": "file", "reason": "use a .csv, .jsonl or .ndjson file"}
    ]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_csv_rows_become_events_with_their_properties(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "events.csv",
        HEADER
        + f'e1,{SUPPLIER},payment_received,2026-06-01T10:00:00Z,"{{""note"": ""Crème""}}",-4900,\n'
        + f"e2,{SUPPLIER},login,2026-06-01T11:00:00Z,,,scale\n"
        + f'e3,{SUPPLIER},note_added,2026-06-01T12:00:00Z,"{{""text"": ""hi""}}",,12\n'
        + f'e4,{SUPPLIER},note_added,2026-06-01T13:00:00Z,,,"two\nlines"\n',
    )
    (batch,) = list(read_batches(path, batch_size=10))
    assert batch.unreadable == []
    assert batch.lines == [2, 3, 4, 6]  # the quoted newline makes the last row span 5-6
    first, second, third, fourth = batch.items
    assert first == {
        "event_id": "e1",
        "supplier_id": SUPPLIER,
        "type": "payment_received",
        "occurred_at": "2026-06-01T10:00:00Z",
        "properties": {"note": "Crème", "amount": -4900},
    }
    # Empty cells are left out; an extra column joins the properties as text.
    assert second == {
        "event_id": "e2",
        "supplier_id": SUPPLIER,
        "type": "login",
        "occurred_at": "2026-06-01T11:00:00Z",
        "properties": {"plan": "scale"},
    }
    # Only `amount` is read as a number: other digits stay text.
    assert third["properties"] == {"text": "hi", "plan": "12"}
    assert fourth["properties"] == {"plan": "two\nlines"}


def test_bad_csv_rows_are_reported_and_the_rest_kept(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "events.csv",
        HEADER
        + f"e1,{SUPPLIER},login,2026-06-01T10:00:00Z,[1],,\n"
        + f'e2,{SUPPLIER},login,2026-06-01T10:00:00Z,"{{broken",,\n'
        + f"e3,{SUPPLIER},login,2026-06-01T10:00:00Z,,12.5,\n",
    )
    (batch,) = list(read_batches(path, batch_size=10))
    assert [line for line, _ in batch.unreadable] == [2, 3]
    assert batch.unreadable[0][1] == "properties: must be a JSON object"
    assert batch.lines == [4]
    assert batch.items[0]["properties"] == {"amount": "12.5"}


def test_a_csv_without_the_required_columns_is_refused_naming_them(tmp_path: Path) -> None:
    path = _write(tmp_path, "events.csv", "event_id,type\ne1,login\n")
    with pytest.raises(ValidationFailed, match="The CSV header lacks required columns") as refused:
        list(read_batches(path, batch_size=10))
    assert refused.value.details == [
        {"field": "occurred_at", "reason": "missing column"},
        {"field": "supplier_id", "reason": "missing column (or supplier_external_id)"},
    ]


def test_jsonl_is_read_in_batches_with_line_numbers(tmp_path: Path) -> None:
    events = [{"event_id": f"e{i}", "note": "naïve"} for i in range(5)]
    lines = [json.dumps(e, ensure_ascii=False) for e in events]
    lines.insert(2, "")  # a blank line is skipped but still counted
    lines.insert(4, "{not json")
    path = _write(tmp_path, "events.jsonl", "\n".join(lines) + "\n")
    batches = list(read_batches(path, batch_size=2))
    assert [b.items for b in batches] == [events[0:2], events[2:4], events[4:5]]
    assert [b.lines for b in batches] == [[1, 2], [4, 6], [7]]
    assert [line for b in batches for line, _ in b.unreadable] == [5]
    assert batches[1].unreadable[0][1].startswith("not valid JSON")


def test_a_file_of_only_bad_lines_still_reports_them(tmp_path: Path) -> None:
    path = _write(tmp_path, "events.ndjson", "{nope\n")
    (batch,) = list(read_batches(path, batch_size=2))
    assert (batch.items, [line for line, _ in batch.unreadable]) == ([], [1])
    assert list(read_batches(_write(tmp_path, "empty.jsonl", "\n"), batch_size=2)) == []


def test_csv_keeps_crlf_inside_quoted_cells_and_drops_empty_columns(tmp_path: Path) -> None:
    """Windows line endings end rows, but a line break inside a quoted cell is data."""
    path = tmp_path / "events.csv"
    path.write_bytes(
        b"event_id,supplier_id,user_id,type,occurred_at,memo\r\n"
        + f'e1,{SUPPLIER},,login,2026-06-01T10:00:00Z,"one\r\ntwo"\r\n'.encode()
    )
    (batch,) = list(read_batches(path, batch_size=10))
    assert batch.items == [
        {
            "event_id": "e1",
            "supplier_id": SUPPLIER,
            "type": "login",
            "occurred_at": "2026-06-01T10:00:00Z",
            "properties": {"memo": "one\r\ntwo"},
        }
    ]
