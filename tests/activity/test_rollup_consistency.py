"""Rollups are exactly a recount of the stored events, whatever the import did: first
imports, re-imports, overlapping batches with conflicting copies of an id, several batches
per transaction, and an import that crashes half-way through a transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.factories import supplier
from wedsync_success import import_cli, pipeline
from wedsync_success.activity.models import (
    ActivityEvent,
    DailyRollup,
    EventType,
    SupplierEventTotal,
)
from wedsync_success.context import AppContext
from wedsync_success.kit.files import FileBatch
from wedsync_success.suppliers.service import upsert_batch

START = datetime(2024, 5, 30, 22, 0, tzinfo=UTC)  # batches straddle a month: two partitions
TYPES = ("login", "post_created", "payment_received")


async def _suppliers(ctx: AppContext, count: int) -> list[str]:
    items = [supplier() for _ in range(count)]
    async with ctx.db.transaction() as session:
        await upsert_batch(session=session, items=items, now=ctx.clock())
    return [item["id"] for item in items]


def _batches(batches: list[list[dict[str, Any]]]) -> Iterator[FileBatch]:
    line = 1
    for items in batches:
        lines = list(range(line + 1, line + 1 + len(items)))
        line += len(items)
        yield FileBatch(items=items, lines=lines, last_line=line)


async def _import(
    ctx: AppContext, batches: list[list[dict[str, Any]]], per_commit: int = 1
) -> import_cli.ImportReport:
    return await import_cli.run_import(
        ctx,
        batches=_batches(batches),
        lines=sum(map(len, batches)) + 1,
        write=import_cli.event_writer(ctx),
        batches_per_commit=per_commit,
    )


async def _rollups_and_recount(ctx: AppContext) -> tuple[Any, Any, Any, Any]:
    """(daily rollups, daily recount, totals, totals recount), each sorted."""
    e, t, r, s = ActivityEvent, EventType, DailyRollup, SupplierEventTotal
    async with ctx.db.sessions() as session:
        daily = (
            await session.execute(
                select(r.supplier_id, r.day, r.event_type, r.count, r.value_sum).order_by(
                    r.supplier_id, r.day, r.event_type
                )
            )
        ).all()
        recount = (
            await session.execute(
                select(
                    e.supplier_id,
                    e.occurred_on,
                    t.name,
                    func.count(),
                    func.coalesce(func.sum(e.value), 0),
                )
                .join(t, t.code == e.type_code)
                .group_by(e.supplier_id, e.occurred_on, t.name)
                .order_by(e.supplier_id, e.occurred_on, t.name)
            )
        ).all()
        totals = (
            await session.execute(
                select(
                    s.supplier_id, s.event_type, s.count, s.value_sum, s.first_at, s.last_at
                ).order_by(s.supplier_id, s.event_type)
            )
        ).all()
        totals_recount = (
            await session.execute(
                select(
                    e.supplier_id,
                    t.name,
                    func.count(),
                    func.coalesce(func.sum(e.value), 0),
                    func.min(e.occurred_at),
                    func.max(e.occurred_at),
                )
                .join(t, t.code == e.type_code)
                .group_by(e.supplier_id, t.name)
                .order_by(e.supplier_id, t.name)
            )
        ).all()
    return (
        [tuple(row) for row in daily],
        [tuple(row) for row in recount],
        [tuple(row) for row in totals],
        [tuple(row) for row in totals_recount],
    )


async def _assert_consistent(ctx: AppContext) -> None:
    daily, recount, totals, totals_recount = await _rollups_and_recount(ctx)
    assert daily == recount
    assert totals == totals_recount


async def _stored(ctx: AppContext) -> int:
    async with ctx.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ActivityEvent)) or 0)


# One occurrence of an event id: its supplier, type, hour and amount may differ from another
# occurrence of the same id (a conflicting copy): only the first stored may be counted.
_occurrence = st.tuples(
    st.integers(0, 40),  # event id
    st.integers(0, 2),  # supplier
    st.sampled_from(TYPES),
    st.integers(0, 96),  # hours after START
    st.one_of(st.none(), st.integers(-(2**40), 2**40)),  # amount
)


def _items(suppliers: list[str], tag: str, occurrences: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"{tag}-{n}",
            "supplier_id": suppliers[who],
            "type": kind,
            "occurred_at": (START + timedelta(hours=hour)).isoformat(),
            "properties": {} if amount is None else {"amount": amount},
        }
        for n, who, kind, hour, amount in occurrences
    ]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batches=st.lists(st.lists(_occurrence, max_size=25), min_size=1, max_size=6),
    again=st.lists(st.integers(0, 5), max_size=4),
    per_commit=st.integers(1, 4),
)
async def test_rollups_equal_a_recount_after_imports_reimports_and_overlaps(
    ctx: AppContext, batches: list[list[Any]], again: list[int], per_commit: int
) -> None:
    suppliers = await _suppliers(ctx, 3)
    tag = suppliers[0][:8]  # ids of their own in each example (the database is shared)
    first = [_items(suppliers, tag, occurrences) for occurrences in batches]
    report = await _import(ctx, first, per_commit)
    assert report.stopped is None
    await _assert_consistent(ctx)
    # Some batches again (each a duplicate now), in another grouping.
    repeated = [first[n % len(first)] for n in again]
    before = await _rollups_and_recount(ctx)
    report = await _import(ctx, repeated, per_commit % 3 + 1)
    assert report.stored.get("accepted", 0) == 0
    assert await _rollups_and_recount(ctx) == before


@pytest.mark.parametrize("per_commit", [1, 3])
async def test_a_crash_mid_import_leaves_events_and_rollups_consistent(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch, per_commit: int
) -> None:
    suppliers = await _suppliers(ctx, 3)
    batches = [
        _items(suppliers, "c", [(b * 10 + i, i % 3, TYPES[i % 3], b * 7 + i, i) for i in range(10)])
        for b in range(7)
    ]
    calls = 0
    original = pipeline.announce_payment_failures

    async def crash_on_the_fifth(**kwargs: Any) -> int:
        """Runs after the batch's events and rollups are written, in its transaction."""
        nonlocal calls
        calls += 1
        if calls == 5:
            raise RuntimeError("the process dies here")
        return await original(**kwargs)

    monkeypatch.setattr(pipeline, "announce_payment_failures", crash_on_the_fifth)
    report = await _import(ctx, batches, per_commit)
    assert report.stopped is not None
    assert "the process dies here" in report.stopped
    committed = 4 if per_commit == 1 else 3  # groups of 3: the second group rolled back
    assert report.stored == {"accepted": 10 * committed, "duplicates": 0}
    assert await _stored(ctx) == 10 * committed
    await _assert_consistent(ctx)

    monkeypatch.setattr(pipeline, "announce_payment_failures", original)
    report = await _import(ctx, batches, per_commit)  # the same file again, to the end
    assert report.stopped is None
    assert report.stored == {"accepted": 70 - 10 * committed, "duplicates": 10 * committed}
    assert await _stored(ctx) == 70
    await _assert_consistent(ctx)


async def test_concurrent_overlapping_imports_keep_rollups_equal_to_a_recount(
    ctx: AppContext,
) -> None:
    """Three imports at once whose files share ids, with conflicting copies of them (another
    supplier, hour and amount): each id is stored once, by one of them, and counted once.
    On PostgreSQL they really run side by side (the event-id locks order them)."""
    suppliers = await _suppliers(ctx, 4)

    def file(offset: int) -> list[list[dict[str, Any]]]:
        occurrences = [
            (n, (n + offset) % 4 % 3, TYPES[n % 3], (n * 5 + offset) % 90, n + offset)
            for n in range(offset, offset + 120)
        ]
        return [_items(suppliers, "k", occurrences[i : i + 25]) for i in range(0, 120, 25)]

    reports = await asyncio.gather(*(_import(ctx, file(offset)) for offset in (0, 40, 80)))
    assert all(report.stopped is None for report in reports)
    assert sum(r.stored["accepted"] for r in reports) == 200  # ids 0..199
    assert sum(r.stored["duplicates"] for r in reports) == 160
    assert await _stored(ctx) == 200
    await _assert_consistent(ctx)
