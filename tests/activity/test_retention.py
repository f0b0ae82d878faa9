"""Raw-event retention: pruning keeps rollups and health as they were, and a re-import of
pruned events is refused, never counted twice."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.activity.test_event_store import _import, _rollups, _suppliers
from tests.conftest import FakeClock
from wedsync_success.activity.models import ActivityEvent
from wedsync_success.activity.repository import pruned_before
from wedsync_success.activity.retention import horizon, prune_raw_events
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

    deleted = await prune_raw_events(ctx, before=cut, chunk=4)  # several chunks
    assert deleted == 6
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
    assert await prune_raw_events(ctx, before=cut - timedelta(days=90)) == 0
    async with ctx.db.sessions() as session:
        assert await pruned_before(session) == cut
