"""``import events --history``: batches larger than the API's, the PostgreSQL merge probing
every partition by its event-id index (never scanning stored events), and the new months'
per-supplier index compacted afterwards."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests.activity.test_event_store import _rollups, _stored, _suppliers
from tests.activity.test_partitions import _columns, _insert, _postgres
from wedsync_success import import_cli
from wedsync_success.activity import repository
from wedsync_success.activity.importer import read_batches
from wedsync_success.context import AppContext
from wedsync_success.kit.files import count_lines


async def _import(
    ctx: AppContext, path: Path, *, batch_size: int, max_batch_size: int | None
) -> import_cli.ImportReport:
    return await import_cli.run_import(
        ctx,
        batches=read_batches(path, batch_size=batch_size),
        lines=count_lines(path),
        write=import_cli.event_writer(ctx, max_batch_size=max_batch_size),
        batches_per_commit=import_cli.event_batches_per_commit(ctx.db.dialect, batch_size),
    )


def _minutely(
    path: Path,
    supplier_ids: list[str],
    count: int,
    *,
    start: datetime = datetime(2025, 3, 1, tzinfo=UTC),
    every: timedelta = timedelta(minutes=1),
) -> Path:
    """``count`` logins ``every`` apart from ``start``, a tenth with an amount."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("event_id", "supplier_id", "type", "occurred_at", "properties"))
        for n in range(count):
            props = json.dumps({"amount": n}) if n % 10 == 0 else ""
            at = (start + every * n).isoformat()
            writer.writerow((f"m-{n}", supplier_ids[n % len(supplier_ids)], "login", at, props))
    return path


async def test_a_history_batch_may_exceed_the_api_limit(ctx: AppContext, tmp_path: Path) -> None:
    ids = await _suppliers(ctx, 4)
    limit = ctx.settings.max_batch_size
    path = _minutely(tmp_path / "history.csv", ids, limit + 200)

    refused = await _import(ctx, path, batch_size=limit + 200, max_batch_size=None)
    assert refused.stopped is not None
    assert "at most" in refused.stopped
    assert await _stored(ctx) == 0

    first = await _import(ctx, path, batch_size=limit + 200, max_batch_size=limit + 200)
    assert first.stored == {"accepted": limit + 200, "duplicates": 0}
    assert first.batches == 1
    rollups = await _rollups(ctx)
    assert sum(count for *_, count, _, _, _ in rollups[1]) == limit + 200
    assert sum(value for *_, value, _, _ in rollups[1]) == sum(range(0, limit + 200, 10))

    again = await _import(ctx, path, batch_size=limit + 200, max_batch_size=limit + 200)
    assert again.stored == {"accepted": 0, "duplicates": limit + 200}
    assert await _rollups(ctx) == rollups


def test_sqlite_commits_the_same_number_of_events_whatever_the_batch_size() -> None:
    assert import_cli.event_batches_per_commit("sqlite", 5000) == 10
    assert import_cli.event_batches_per_commit("sqlite", 50_000) == 1
    assert import_cli.event_batches_per_commit("sqlite", 80_000) == 1
    assert import_cli.event_batches_per_commit("postgresql", 5000) == 1


def _scans(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """(node type, relation) of every node of ``plan`` that reads a relation."""
    found = [(plan["Node Type"], plan["Relation Name"])] if "Relation Name" in plan else []
    for child in plan.get("Plans", []):
        found.extend(_scans(child))
    return found


async def test_the_merge_probes_each_partition_by_its_event_id_index(ctx: AppContext) -> None:
    """Even in a month whose partition is nearly empty to the planner (a batch of history
    fills it), and however many events are stored, no partition is scanned and nothing is
    hashed."""
    if not _postgres(ctx):
        return
    supplier_ids = [uuid.UUID(s) for s in await _suppliers(ctx, 2)]
    jan = datetime(2025, 1, 3, tzinfo=UTC)
    may = datetime(2025, 5, 3, tzinfo=UTC)
    stored = [(f"old-{n}", supplier_ids[n % 2], jan + timedelta(minutes=n)) for n in range(3000)]
    # A few in May too: a partition that small looked cheaper to scan than to probe.
    stored += [(f"may-{n}", supplier_ids[0], may - timedelta(minutes=n)) for n in range(20)]
    async with ctx.db.transaction() as session:
        assert await _insert(session, stored) == 3020
    await ctx.db.refresh_plans(["activity_events"])
    new = [(f"new-{n}", supplier_ids[n % 2], may + timedelta(minutes=n)) for n in range(500)]
    async with ctx.db.transaction() as session:
        batch = await repository.open_batch(session, now=ctx.clock())
        rows = await repository._event_rows(session, _columns(new))
        await repository._stage_and_lock(session, rows)
        explain = text("EXPLAIN (FORMAT JSON) " + str(repository._MERGE_AND_ROLL_UP))
        tuned = repository.TUNED_MERGE_MIN_ROWS  # the plan of a history batch
        plan = (await repository._merge(session, explain, batch, rows=tuned)).scalar_one()[0][
            "Plan"
        ]
        setting = await session.scalar(text("SELECT current_setting('enable_seqscan')"))
    scans = _scans(plan)
    events = [(node, rel) for node, rel in scans if rel.startswith("activity_events_y")]
    assert {rel for _, rel in events} >= {"activity_events_y2025m01", "activity_events_y2025m05"}
    assert all(node == "Index Only Scan" for node, rel in events if node != "ModifyTable"), scans
    assert "Hash Anti Join" not in str(plan)
    assert setting == "on"  # put back for the rest of the transaction


async def _index_files(ctx: AppContext) -> dict[str, int]:
    async with ctx.db.engine.connect() as connection:
        indexes = await repository.supplier_time_indexes(connection)
        rows = await connection.execute(
            text("SELECT relname, relfilenode FROM pg_class WHERE relname = ANY(:names)"),
            {"names": list(indexes.values())},
        )
        files = {name: node for name, node in rows}
    return {table: files[index] for table, index in indexes.items()}


async def test_history_compacts_the_index_of_the_months_it_created(
    ctx: AppContext, tmp_path: Path
) -> None:
    if not _postgres(ctx):
        return
    ids = await _suppliers(ctx, 3)
    start = datetime(2019, 1, 1, tzinfo=UTC)  # months no other test writes
    # A month that held events before the import: left alone.
    first = _minutely(tmp_path / "first.csv", ids, 5, start=start)
    assert (await _import(ctx, first, batch_size=50, max_batch_size=None)).stored["accepted"] == 5
    before = await import_cli.event_partitions(ctx)
    assert "activity_events_y2019m01" in before
    files = await _index_files(ctx)
    path = _minutely(tmp_path / "history.csv", ids, 400, start=start, every=timedelta(hours=10))
    report = await _import(ctx, path, batch_size=1000, max_batch_size=1000)
    assert report.stored == {"accepted": 395, "duplicates": 5}
    await import_cli.compact_new_partitions(ctx, report, before=before)
    assert report.uncompacted is None
    after = await _index_files(ctx)
    created = sorted(set(after) - before)
    assert created == [f"activity_events_y2019m0{m}" for m in range(2, 7)]  # Feb to June
    assert report.compacted == len(created)
    unchanged = {table for table in before if files[table] == after[table]}
    assert unchanged == before
    async with ctx.db.sessions() as session:
        valid = await session.scalar(
            text(
                "SELECT bool_and(x.indisvalid) FROM pg_index x JOIN pg_class c "
                "ON c.oid = x.indexrelid WHERE c.relname LIKE 'activity_events_y%'"
            )
        )
        assert valid is True
        # The compacted index still answers per-supplier reads.
        latest = await repository.recent_events(session, uuid.UUID(ids[0]), limit=3)
        assert len(latest) == 3
