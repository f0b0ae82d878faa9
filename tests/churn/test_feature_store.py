"""The feature store always equals the definition (the rollup aggregation), on both backends.

Every way the store changes is checked against ``compute_features(source="rollups")`` at the
store's day: the first build, late events inside the windows, events after the store's day,
duplicates, rolling forward by a day, by weeks, by more than the look-back (a rebuild), and
a request to go back in time (refused: scoring then reads the rollups).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import text

from tests.factories import event, supplier
from wedsync_success.churn import feature_store
from wedsync_success.churn.features import FeatureSpec, compute_features
from wedsync_success.churn.windows import ADOPTION, LOOKBACK_DAYS
from wedsync_success.context import AppContext
from wedsync_success.pipeline import ingest
from wedsync_success.suppliers.service import upsert_batch

SPEC = FeatureSpec(milestone_keys=("first_client",))
TYPES = (*ADOPTION, "login", "payment_failed", "support_ticket_opened", "referral_sent")
DAY0 = date(2026, 3, 1)


def _events(ids: list[str], rng: np.random.Generator, first: date, last: date) -> list[Any]:
    """Random activity of every supplier on random days in ``[first, last]``."""
    out: list[dict[str, Any]] = []
    span = (last - first).days + 1
    for sid in ids:
        for _ in range(int(rng.integers(0, 40))):
            day = first + timedelta(days=int(rng.integers(span)))
            at = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
                minutes=int(rng.integers(24 * 60))
            )
            out.append(event(sid, str(rng.choice(TYPES)), at))
    return out


async def _ingest(ctx: AppContext, items: list[Any]) -> None:
    for start in range(0, len(items), 500):
        async with ctx.db.transaction() as session:
            await ingest(session=session, ctx=ctx, items=items[start : start + 500], rescore=False)


async def _assert_store_equals_definition(ctx: AppContext, as_of: date) -> None:
    async with ctx.db.sessions() as session:
        assert await feature_store.store_day(session) == as_of
        store = await compute_features(session, spec=SPEC, as_of=as_of, source="store")
        definition = await compute_features(session, spec=SPEC, as_of=as_of)
    assert store.supplier_ids == definition.supplier_ids
    assert len(store) > 0
    for j, name in enumerate(store.names):
        np.testing.assert_array_equal(
            store.matrix[:, j], definition.matrix[:, j], err_msg=f"{name} as of {as_of}"
        )


async def _until_blocked_or_done(ctx: AppContext, task: asyncio.Task[Any]) -> None:
    """Return once ``task`` has finished or a connection to this PostgreSQL database is
    blocked on a lock (the test then tells which of the two happened).

    Each look is its own transaction: PostgreSQL keeps one statistics snapshot per
    transaction, so a single long one would never see the wait begin.
    """
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while not task.done():
        async with ctx.db.engine.connect() as conn:
            if await conn.scalar(waiting):
                return
        await asyncio.sleep(0)  # let the task run; the condition decides, never a delay


async def _roll(ctx: AppContext, to: date) -> feature_store.RollForward:
    async with ctx.db.transaction() as session:
        return await feature_store.roll_forward(session, to=to, now=ctx.clock())


@pytest.fixture
async def suppliers(ctx: AppContext) -> list[str]:
    items = [supplier(signed_up_at="2025-06-01T09:00:00+00:00") for _ in range(12)]
    async with ctx.db.transaction() as session:
        await upsert_batch(session=session, items=items, now=ctx.clock())
    return [str(item["id"]) for item in items]


async def test_the_store_follows_every_change_exactly(
    ctx: AppContext, suppliers: list[str]
) -> None:
    rng = np.random.default_rng(3)
    await _ingest(ctx, _events(suppliers, rng, DAY0 - timedelta(days=200), DAY0 + timedelta(5)))

    first = await _roll(ctx, DAY0)
    assert first.rebuilt
    assert first.previous is None
    await _assert_store_equals_definition(ctx, DAY0)

    # Late events on days inside every window, events after the store's day, and a resend.
    late = _events(suppliers, rng, DAY0 - timedelta(days=LOOKBACK_DAYS + 5), DAY0)
    future = _events(suppliers, rng, DAY0 + timedelta(days=1), DAY0 + timedelta(days=60))
    await _ingest(ctx, late + future)
    await _ingest(ctx, late[:50])
    await _assert_store_equals_definition(ctx, DAY0)

    day = DAY0
    for step in (1, 1, 6, 23, 29):
        day += timedelta(days=step)
        rolled = await _roll(ctx, day)
        assert not rolled.rebuilt
        assert rolled.previous == day - timedelta(days=step)
        await _assert_store_equals_definition(ctx, day)
        await _ingest(ctx, _events(suppliers[:4], rng, day - timedelta(days=40), day))
        await _assert_store_equals_definition(ctx, day)

    back = await _roll(ctx, day - timedelta(days=3))
    assert back.as_of == day
    assert not back.rebuilt
    await _assert_store_equals_definition(ctx, day)

    far = day + timedelta(days=LOOKBACK_DAYS + 1)
    assert (await _roll(ctx, far)).rebuilt
    await _assert_store_equals_definition(ctx, far)


async def test_a_supplier_whose_activity_left_the_windows_has_zero_activity(
    ctx: AppContext, suppliers: list[str]
) -> None:
    sid = suppliers[0]
    at = datetime(2026, 2, 1, 10, tzinfo=UTC)
    await _ingest(ctx, [event(sid, "login", at), event(sid, "client_added", at)])
    await _roll(ctx, date(2026, 2, 1))
    await _roll(ctx, date(2026, 8, 15))  # 195 days later: beyond every window
    await _assert_store_equals_definition(ctx, date(2026, 8, 15))
    async with ctx.db.sessions() as session:
        frame = await compute_features(
            session,
            spec=SPEC,
            as_of=date(2026, 8, 15),
            source="store",
            supplier_ids=[uuid.UUID(sid)],
        )
    assert frame.column("logins_90d")[0] == 0
    assert frame.column("clients_180d")[0] == 0
    assert frame.column("days_since_login")[0] == LOOKBACK_DAYS


async def test_the_store_answers_only_for_its_own_day(
    ctx: AppContext, suppliers: list[str]
) -> None:
    rng = np.random.default_rng(5)
    await _ingest(ctx, _events(suppliers, rng, DAY0 - timedelta(days=100), DAY0))
    await _roll(ctx, DAY0)
    some = [uuid.UUID(s) for s in suppliers[:3]]
    async with ctx.db.sessions() as session:
        at_day = await compute_features(
            session, spec=SPEC, as_of=DAY0, source="store", supplier_ids=some
        )
        definition = await compute_features(session, spec=SPEC, as_of=DAY0, supplier_ids=some)
        day_before = DAY0 - timedelta(days=1)
        elsewhere = await compute_features(session, spec=SPEC, as_of=day_before, source="store")
    assert at_day.supplier_ids == sorted(some)
    np.testing.assert_array_equal(at_day.matrix, definition.matrix)
    assert len(elsewhere) == 0


async def test_a_reader_of_the_store_lets_ingest_land_but_holds_the_day(
    ctx: AppContext, suppliers: list[str]
) -> None:
    """Scoring takes the store's row with a shared lock: on PostgreSQL a batch still lands
    meanwhile, while a roll forward waits until the reader is done."""
    if ctx.db.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time: there is nothing to share")
    rng = np.random.default_rng(9)
    await _ingest(ctx, _events(suppliers, rng, DAY0 - timedelta(days=60), DAY0))
    await _roll(ctx, DAY0)
    late = _events(suppliers, rng, DAY0 - timedelta(days=10), DAY0)
    async with ctx.db.transaction() as session:
        assert await feature_store.store_day(session, lock="share") == DAY0
        await asyncio.wait_for(_ingest(ctx, late), timeout=30)  # lands while the reader holds
        rolling = asyncio.create_task(_roll(ctx, DAY0 + timedelta(days=1)))
        await asyncio.wait_for(_until_blocked_or_done(ctx, rolling), timeout=30)
        assert not rolling.done(), "the store moved under a reader"
        assert await feature_store.store_day(session) == DAY0
    await asyncio.wait_for(rolling, timeout=30)
    await _assert_store_equals_definition(ctx, DAY0 + timedelta(days=1))


async def test_ingest_waits_for_a_roll_forward_and_lands_after_it(
    ctx: AppContext, suppliers: list[str]
) -> None:
    """A batch arriving while the store moves is added against the new day, not the old."""
    rng = np.random.default_rng(5)
    await _ingest(ctx, _events(suppliers, rng, DAY0 - timedelta(days=100), DAY0))
    await _roll(ctx, DAY0)
    late = _events(suppliers, rng, DAY0 - timedelta(days=20), DAY0 + timedelta(days=1))
    async with ctx.db.transaction() as session:
        await feature_store.roll_forward(session, to=DAY0 + timedelta(days=1), now=ctx.clock())
        landing = asyncio.create_task(_ingest(ctx, late))
        if ctx.db.dialect == "postgresql":
            await asyncio.wait_for(_until_blocked_or_done(ctx, landing), timeout=30)
            assert not landing.done(), "ingest did not wait for the store's lock"
    await asyncio.wait_for(landing, timeout=30)
    await _assert_store_equals_definition(ctx, DAY0 + timedelta(days=1))
