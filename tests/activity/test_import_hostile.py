"""`import events` files with hostile lines: every bad line is reported by line number,
field and plain reason, and every good line is stored, on both backends."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier
from wedsync_success.activity.importer import read_batches
from wedsync_success.activity.models import ActivityEvent
from wedsync_success.context import AppContext
from wedsync_success.pipeline import ingest


async def import_file(ctx: AppContext, path: Path) -> list[tuple[int, str, str]]:
    """What `wedsync-success import events` does with a file: (line, field, reason) of
    every rejected line."""
    problems: list[tuple[int, str, str]] = []
    for batch in read_batches(path, batch_size=3):
        problems.extend((line, "", reason) for line, reason in batch.unreadable)
        if batch.items:
            async with ctx.db.transaction() as session:
                result = await ingest(session=session, ctx=ctx, items=batch.items)
            problems.extend((batch.lines[e.index], e.field, e.reason) for e in result.errors)
    return sorted(problems)


async def stored_ids(ctx: AppContext) -> set[str]:
    async with ctx.db.sessions() as session:
        return set(await session.scalars(select(ActivityEvent.event_id)))


async def test_jsonl_lines_are_judged_one_by_one(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, tmp_path: Path
) -> None:
    sid = await create_supplier(client)
    when = clock.now - timedelta(hours=1)
    good = [event(sid, "login", when, event_id=f"good-{n}") for n in range(3)]
    lines = [
        json.dumps(good[0]).encode(),
        json.dumps(event(sid, "login", when, properties={"k": "a\u0000b"})).encode(),
        json.dumps(event(sid, "login", when, event_id="evt-\ud800")).encode(),
        json.dumps(event(sid, "login", when, properties={"x": float("nan")})).encode(),
        json.dumps(event(sid, "payment_received", when, properties={"amount": 2**70})).encode(),
        json.dumps(good[1]).encode(),
        b"[" * 50_000 + b"]" * 50_000,
        b'{"event_id": "caf\xe9"}',  # Latin-1, not UTF-8
        json.dumps(
            event(sid, "login", when) | {"occurred_at": "0001-01-01T00:00:00+14:00"}
        ).encode(),
        b'{"amount": ' + b"9" * 5000 + b"}",
        json.dumps(good[2]).encode(),
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    problems = await import_file(ctx, path)

    assert problems == [
        (2, "properties.k", "contains a NUL character (\\u0000), which cannot be stored"),
        (3, "event_id", "is not valid Unicode text (it holds a lone surrogate)"),
        (4, "properties.x", "must be a finite number, not NaN or Infinity"),
        (
            5,
            "properties.amount",
            "must be a whole number of minor units (pence, cents) between "
            "-100000000000 and 100000000000",
        ),
        (7, "", "not valid JSON: the line nests too deeply"),
        (8, "", "the line is not valid UTF-8 text"),
        (9, "occurred_at", "must be between 2000-01-01 and 2100-01-01 (UTC)"),
        (10, "event_id", "is required"),
    ]
    assert await stored_ids(ctx) == {g["event_id"] for g in good}


async def test_csv_rows_are_judged_one_by_one(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, tmp_path: Path
) -> None:
    sid = await create_supplier(client)
    when = (clock.now - timedelta(hours=1)).isoformat()
    rows = [
        b"event_id,supplier_id,type,occurred_at,amount,properties",
        f"c1,{sid},payment_received,{when},4900,".encode(),
        f"c2,{sid},payment_received,{when},{'9' * 5000},".encode(),
        f'c3,{sid},login,{when},,"{{""a"": NaN}}"'.encode(),
        f'c4,{sid},login,{when},,"{"[" * 50_000}"'.encode(),
        f"c5,{sid},login,{when},,not json".encode(),
        f"c6\x00,{sid},login,{when},,".encode(),
        f"c7,{sid},login,{when},,".encode() + b'"{""k"": ""\xff""}"',
        f"c8,{sid},login,{when},,".encode(),
    ]
    path = tmp_path / "events.csv"
    path.write_bytes(b"\n".join(rows) + b"\n")

    problems = await import_file(ctx, path)

    assert problems == [
        (3, "properties.amount", problems[0][2]),
        (4, "properties.a", "must be a finite number, not NaN or Infinity"),
        (5, "", "properties: not valid JSON (the properties column nests too deeply)"),
        (6, "", problems[3][2]),
        (7, "event_id", "contains a NUL character (\\u0000), which cannot be stored"),
        (8, "", "the row is not valid UTF-8 text"),
    ]
    assert "minor units" in problems[0][2]
    assert problems[3][2].startswith("properties: not valid JSON (Expecting value")
    assert await stored_ids(ctx) == {"c1", "c8"}
