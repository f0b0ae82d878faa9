"""The bulk write of events: import idempotence, the COPY staging path on PostgreSQL,
concurrent overlapping imports, and properties read back exactly as sent."""

from __future__ import annotations

import asyncio
import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, literal, select, text

from tests.conftest import FakeClock
from tests.factories import event, supplier
from wedsync_success import import_cli
from wedsync_success.activity import repository
from wedsync_success.activity.importer import read_batches
from wedsync_success.activity.models import (
    ActivityEvent,
    DailyRollup,
    EventType,
    SupplierEventTotal,
)
from wedsync_success.activity.service import store_batch
from wedsync_success.context import AppContext
from wedsync_success.db import JSONType
from wedsync_success.kit.files import count_lines
from wedsync_success.suppliers.service import upsert_batch

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


async def _suppliers(ctx: AppContext, count: int) -> list[str]:
    items = [supplier() for _ in range(count)]
    async with ctx.db.transaction() as session:
        await upsert_batch(session=session, items=items, now=ctx.clock())
    return [item["id"] for item in items]


def _history(path: Path, supplier_ids: list[str], ids: range) -> Path:
    """Events ``h-<n>`` for n in ``ids``: the type and amount follow from n, so two files
    sharing ids hold the same events."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("event_id", "supplier_id", "type", "occurred_at", "properties"))
        for n in ids:
            kind = ("login", "post_created", "payment_received")[n % 3]
            props = json.dumps({"amount": 100 + n}) if kind == "payment_received" else ""
            at = START + timedelta(hours=7 * n)
            writer.writerow((f"h-{n}", supplier_ids[n % len(supplier_ids)], kind, at, props))
    return path


async def _import(ctx: AppContext, path: Path, batch_size: int = 40) -> import_cli.ImportReport:
    return await import_cli.run_import(
        ctx,
        batches=read_batches(path, batch_size=batch_size),
        lines=count_lines(path),
        write=import_cli.event_writer(ctx),
    )


async def _rollups(ctx: AppContext) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    async with ctx.db.sessions() as session:
        daily = (
            await session.execute(select(DailyRollup).order_by(*DailyRollup.__table__.c))
        ).scalars()
        daily_rows = [(r.supplier_id, r.day, r.event_type, r.count, r.value_sum) for r in daily]
        totals = (
            await session.execute(
                select(SupplierEventTotal).order_by(*SupplierEventTotal.__table__.c)
            )
        ).scalars()
        total_rows = [
            (r.supplier_id, r.event_type, r.count, r.value_sum, r.first_at, r.last_at)
            for r in totals
        ]
    return daily_rows, total_rows


async def _stored(ctx: AppContext) -> int:
    async with ctx.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ActivityEvent)) or 0)


async def test_importing_a_history_twice_counts_nothing_twice(
    ctx: AppContext, tmp_path: Path
) -> None:
    ids = await _suppliers(ctx, 3)
    path = _history(tmp_path / "history.csv", ids, range(120))
    first = await _import(ctx, path)
    assert first.stored == {"accepted": 120, "duplicates": 0}
    assert not first.problems
    assert first.stopped is None
    daily, totals = await _rollups(ctx)
    # Hand count: n % 3 gives the type, so 40 of each; the amounts are 100 + n for n = 2 mod 3.
    by_type = {}
    for _, kind, count, value, _, _ in totals:
        by_type[kind] = (by_type.get(kind, (0, 0))[0] + count, by_type.get(kind, (0, 0))[1] + value)
    assert by_type == {
        "login": (40, 0),
        "post_created": (40, 0),
        "payment_received": (40, sum(100 + n for n in range(2, 120, 3))),
    }
    again = await _import(ctx, path, batch_size=33)
    assert again.stored == {"accepted": 0, "duplicates": 120}
    assert await _rollups(ctx) == (daily, totals)
    assert await _stored(ctx) == 120


async def test_the_events_keep_their_types_and_empty_properties_are_null(
    ctx: AppContext, clock: FakeClock
) -> None:
    (sid,) = await _suppliers(ctx, 1)
    items = [
        event(sid, "login", clock.now - timedelta(hours=2), event_id="a"),
        event(sid, "calendar_synced", clock.now - timedelta(hours=1), event_id="b"),
        event(sid, "payment_received", clock.now, event_id="c", properties={"amount": 12}),
    ]
    async with ctx.db.transaction() as session:
        stored = await store_batch(session=session, items=items, now=clock.now, max_batch_size=10)
    assert stored.result.accepted == 3
    async with ctx.db.sessions() as session:
        raw = (
            await session.execute(
                text("SELECT event_id, properties FROM activity_events ORDER BY event_id")
            )
        ).all()
        types = dict(
            (await session.execute(select(ActivityEvent.event_id, ActivityEvent.event_type))).all()
        )
        names = set(await session.scalars(select(EventType.name)))
    assert [(event_id, props is None) for event_id, props in raw] == [
        ("a", True),
        ("b", True),
        ("c", False),
    ]
    assert types == {"a": "login", "b": "calendar_synced", "c": "payment_received"}
    assert names == {"login", "calendar_synced", "payment_received"}


async def test_postgresql_stages_the_rows_through_copy(ctx: AppContext, clock: FakeClock) -> None:
    (sid,) = await _suppliers(ctx, 1)
    items = [event(sid, "login", clock.now - timedelta(minutes=n)) for n in range(25)]
    async with ctx.db.transaction() as session:
        stored = await store_batch(session=session, items=items, now=clock.now, max_batch_size=50)
        if session.get_bind().dialect.name != "postgresql":
            # SQLite binds the rows straight into the table: no staging table exists.
            tables = await session.scalar(
                text("SELECT count(*) FROM sqlite_temp_master WHERE name = :n"),
                {"n": repository.STAGING_TABLE},
            )
            assert tables == 0
        else:
            staged = await session.scalar(text(f"SELECT count(*) FROM {repository.STAGING_TABLE}"))
            assert staged == 25  # the batch went through the staging table, in this transaction
    assert stored.result.accepted == 25
    async with ctx.db.transaction() as session:  # kept by its connection, emptied at commit
        if session.get_bind().dialect.name == "postgresql":
            left = await session.scalar(text(f"SELECT count(*) FROM {repository.STAGING_TABLE}"))
            assert left == 0


async def test_concurrent_imports_of_overlapping_files_count_each_event_once(
    ctx: AppContext, tmp_path: Path
) -> None:
    ids = await _suppliers(ctx, 4)
    first = _history(tmp_path / "a.csv", ids, range(0, 150))
    second = _history(tmp_path / "b.csv", ids, range(100, 260))
    both = await asyncio.gather(_import(ctx, first, 30), _import(ctx, second, 25))
    accepted = sum(r.stored["accepted"] for r in both)
    duplicates = sum(r.stored["duplicates"] for r in both)
    assert (accepted, duplicates) == (260, 50)  # the 50 shared ids: stored by one, once
    assert await _stored(ctx) == 260
    daily, totals = await _rollups(ctx)
    assert sum(row[3] for row in daily) == sum(row[2] for row in totals) == 260
    paid = sum(100 + n for n in range(260) if n % 3 == 2)
    assert sum(row[4] for row in daily) == sum(row[3] for row in totals) == paid


_json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
)
_properties = st.dictionaries(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        max_size=20,
    ),
    st.recursive(
        _json_scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=6,
    ),
    max_size=6,
).filter(lambda p: "amount" not in p)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(properties=st.lists(_properties, min_size=1, max_size=4))
async def test_properties_read_back_exactly_as_sent(
    ctx: AppContext, clock: FakeClock, properties: list[dict[str, Any]]
) -> None:
    (sid,) = await _suppliers(ctx, 1)
    items = [
        event(sid, "note_added", clock.now - timedelta(minutes=n), properties=p)
        for n, p in enumerate(properties)
    ]
    async with ctx.db.transaction() as session:
        stored = await store_batch(session=session, items=items, now=clock.now, max_batch_size=10)
    accepted = {items[i]["event_id"] for i in range(len(items))} - {
        items[e.index]["event_id"] for e in stored.result.errors
    }
    async with ctx.db.sessions() as session:
        rows = dict(
            (
                await session.execute(
                    select(ActivityEvent.event_id, ActivityEvent.properties).where(
                        ActivityEvent.event_id.in_(accepted)
                    )
                )
            ).all()
        )
        # What the column's own type makes of each value on the way in and out (PostgreSQL's
        # jsonb writes 3.756355950844113e+16 as the integer 37563559508441130, whatever path
        # stored it): the bulk path must store exactly that.
        expected = {
            item["event_id"]: await session.scalar(select(literal(item["properties"], JSONType)))
            or None
            for item in items
            if item["event_id"] in accepted
        }
    assert rows == expected
