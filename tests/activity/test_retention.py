"""Raw-event retention: pruning keeps rollups and health as they were, and a re-import of
pruned events is refused, never counted twice."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from tests.activity.test_event_store import _import, _rollups, _suppliers
from tests.conftest import FakeClock
from wedsync_success.activity import repository
from wedsync_success.activity.models import ActivityEvent, EventType, RawEventHorizon
from wedsync_success.activity.repository import pruned_before
from wedsync_success.activity.retention import MANIFEST, horizon, prune_raw_events
from wedsync_success.churn.features import compute_features
from wedsync_success.churn.generic import EventFeatures
from wedsync_success.churn.service import feature_spec
from wedsync_success.context import AppContext
from wedsync_success.health.models import HealthScore
from wedsync_success.pipeline import rescore_all


@pytest.mark.parametrize(
    ("today", "months", "expected"),
    [
        (date(2026, 12, 3), 1, datetime(2026, 11, 1, tzinfo=UTC)),
        (date(2026, 1, 31), 1, datetime(2025, 12, 1, tzinfo=UTC)),
        (date(2026, 3, 1), 14, datetime(2025, 1, 1, tzinfo=UTC)),
        (date(2026, 12, 31), 12, datetime(2025, 12, 1, tzinfo=UTC)),
    ],
)
def test_the_horizon_keeps_the_current_month_and_those_before(
    today: date, months: int, expected: datetime
) -> None:
    assert horizon(today, months) == expected


def _file(path: Path, supplier_ids: list[str], moments: list[datetime]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("event_id", "supplier_id", "type", "occurred_at"))
        for n, at in enumerate(moments):
            writer.writerow(
                (f"r-{n}", supplier_ids[n % len(supplier_ids)], "login", at.isoformat())
            )
    return path


async def _health(ctx: AppContext) -> list[tuple[Any, ...]]:
    async with ctx.db.sessions() as session:
        rows = await session.execute(
            select(HealthScore.supplier_id, HealthScore.score).order_by(HealthScore.supplier_id)
        )
        return [tuple(r) for r in rows]


async def _raw(ctx: AppContext) -> int:
    async with ctx.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ActivityEvent)) or 0)


async def test_pruning_keeps_rollups_and_scores_and_refuses_pruned_events_again(
    ctx: AppContext, clock: FakeClock, tmp_path: Path
) -> None:
    ids = await _suppliers(ctx, 2)
    today = clock.now
    cut = horizon(today.date(), 1)
    old = [cut - timedelta(days=40 + n) for n in range(6)]  # two months back and more
    recent = [today - timedelta(days=n, hours=1) for n in range(4)]
    path = _file(tmp_path / "history.csv", ids, old + recent)
    first = await _import(ctx, path)
    assert first.stored == {"accepted": 10, "duplicates": 0}
    async with ctx.db.transaction() as session:
        await rescore_all(session=session, ctx=ctx, as_of=today.date())
    rollups, scores = await _rollups(ctx), await _health(ctx)

    pruned = await prune_raw_events(ctx, before=cut, chunk=4)  # several chunks
    assert pruned.deleted == 6
    assert await _raw(ctx) == 4
    async with ctx.db.transaction() as session:
        await rescore_all(session=session, ctx=ctx, as_of=today.date())
    assert await _rollups(ctx) == rollups
    assert await _health(ctx) == scores

    again = await _import(ctx, path)
    assert again.stored == {"accepted": 0, "duplicates": 4}
    reasons = {(field, reason.split(",")[0]) for _, field, reason in again.problems}
    assert reasons == {("occurred_at", f"is before {cut.date().isoformat()}")}
    assert len(again.problems) == 6
    assert await _rollups(ctx) == rollups  # nothing counted twice
    # A second prune to an earlier horizon deletes nothing and keeps the later horizon.
    assert (await prune_raw_events(ctx, before=cut - timedelta(days=90))).deleted == 0
    async with ctx.db.sessions() as session:
        assert await pruned_before(session) == cut


async def _events(ctx: AppContext) -> list[tuple[Any, ...]]:
    """Every raw event as ``import events`` would read it back."""
    e, t = ActivityEvent, EventType
    async with ctx.db.sessions() as session:
        rows = await session.execute(
            select(e.event_id, e.supplier_id, e.user_id, t.name, e.occurred_at, e.properties)
            .join(t, t.code == e.type_code)
            .order_by(e.event_id)
        )
        return [tuple(r) for r in rows]


def _with_properties(path: Path, supplier_ids: list[str], moments: list[datetime]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("event_id", "supplier_id", "type", "occurred_at", "properties"))
        for n, at in enumerate(moments):
            kind, props = ("login", "") if n % 2 else ("payment_received", '{"amount": 120}')
            writer.writerow((f"a-{n}", supplier_ids[n % len(supplier_ids)], kind, at, props))
    return path


async def test_pruning_months_archives_them_for_import_to_load_back_and_keeps_features(
    ctx: AppContext, clock: FakeClock, tmp_path: Path
) -> None:
    ids = await _suppliers(ctx, 3)
    today = clock.now
    cut = horizon(today.date(), 2)
    old = [cut - timedelta(days=3 + 20 * n, hours=n) for n in range(7)]  # three months
    recent = [today - timedelta(days=n, hours=2) for n in range(5)]
    assert (await _import(ctx, _with_properties(tmp_path / "h.csv", ids, old + recent))).stored[
        "accepted"
    ] == 12
    async with ctx.db.transaction() as session:
        await rescore_all(session=session, ctx=ctx, as_of=today.date())
    spec = feature_spec(ctx, EventFeatures(event_types=("login", "payment_received")))

    async def features() -> Any:
        async with ctx.db.sessions() as session:
            frame = await compute_features(session, spec=spec, as_of=today.date())
        return frame.supplier_ids, frame.matrix

    rollups, scores, feature_values = await _rollups(ctx), await _health(ctx), await features()
    stored = await _events(ctx)
    old_months = sorted({f"{at:%Y-%m}" for at in old})

    pruned = await prune_raw_events(ctx, before=cut, archive=tmp_path / "archive")
    assert pruned.deleted == 7
    assert pruned.months == old_months
    assert await _raw(ctx) == 5
    async with ctx.db.sessions() as session:
        months = await repository.month_partitions(session)
    if ctx.settings.database_url.startswith("postgresql"):
        assert not [m for m in months if m < cut]  # the old months' partitions are gone
        this_month = repository.month_start(today)
        assert {this_month, repository.next_month(this_month)} <= set(months)  # and ahead
    async with ctx.db.transaction() as session:
        await rescore_all(session=session, ctx=ctx, as_of=today.date())
    assert await _rollups(ctx) == rollups
    assert await _health(ctx) == scores
    after_ids, after_matrix = await features()
    assert after_ids == feature_values[0]
    np.testing.assert_array_equal(after_matrix, feature_values[1])

    manifest = json.loads((tmp_path / "archive" / MANIFEST).read_text())
    files = manifest["files"]
    assert [f["month"] for f in files] == old_months
    assert sum(f["events"] for f in files) == 7
    for entry in files:
        body = (tmp_path / "archive" / entry["file"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"]
        assert gzip.decompress(body).decode().splitlines()[0] == ",".join(entry["columns"])

    # The archive loads back with `import events` (into a store without the horizon),
    # every event as it was; a second load finds them all already there.
    async with ctx.db.transaction() as session:
        await session.execute(RawEventHorizon.__table__.delete())
    for entry in files:
        report = await _import(ctx, tmp_path / "archive" / entry["file"])
        assert report.problems == []
        assert report.stored["accepted"] == entry["events"]
    assert await _events(ctx) == stored
    again = await _import(ctx, tmp_path / "archive" / files[0]["file"])
    assert again.stored == {"accepted": 0, "duplicates": files[0]["events"]}


async def test_a_second_archive_of_a_month_never_overwrites_the_first(
    ctx: AppContext, clock: FakeClock, tmp_path: Path
) -> None:
    ids = await _suppliers(ctx, 1)
    cut = horizon(clock.now.date(), 1)
    first = cut - timedelta(days=45)
    await _import(ctx, _file(tmp_path / "one.csv", ids, [first]))
    await prune_raw_events(ctx, before=cut, archive=tmp_path / "archive")
    async with ctx.db.transaction() as session:  # as if a prune had stopped half-way
        await session.execute(RawEventHorizon.__table__.delete())
    await _import(ctx, _file(tmp_path / "two.csv", ids, [first, first]))
    pruned = await prune_raw_events(ctx, before=cut, archive=tmp_path / "archive")
    name = f"activity_events_{first:%Y-%m}"
    assert [p.name for p in pruned.archived] == [f"{name}.2.csv.gz"]
    manifest = json.loads((tmp_path / "archive" / MANIFEST).read_text())
    assert [(f["file"], f["events"]) for f in manifest["files"]] == [
        (f"{name}.csv.gz", 1),
        (f"{name}.2.csv.gz", 2),
    ]
