"""Labels from subscription history: active at the cutoff and not active a horizon later."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import numpy as np

from wedsync_success.churn import repository as churn_repository
from wedsync_success.churn.labels import period_labels
from wedsync_success.context import AppContext
from wedsync_success.suppliers.coverage import refresh_coverage
from wedsync_success.suppliers.models import SubscriptionPeriod
from wedsync_success.suppliers.service import upsert_batch

AS_OF = date(2026, 3, 31)
C = datetime(2026, 4, 1, tzinfo=UTC)  # the cutoff instant
H = 60


def _s(moment: datetime) -> float:
    return moment.timestamp()


def test_hand_made_periods() -> None:
    ids = [uuid.UUID(int=i) for i in range(1, 7)]
    key = [str(i) for i in ids]
    nan = float("nan")
    periods = [
        # 1: open period: stays.
        (key[0], _s(C - timedelta(days=100)), nan),
        # 2: ends within the horizon, comes back within it: a reactivation, not churn.
        (key[1], _s(C - timedelta(days=100)), _s(C + timedelta(days=10))),
        (key[1], _s(C + timedelta(days=30)), nan),
        # 3: ends within the horizon, back only after it: churned (a gap at C + horizon).
        (key[2], _s(C - timedelta(days=100)), _s(C + timedelta(days=10))),
        (key[2], _s(C + timedelta(days=H + 5)), nan),
        # 4: not a customer at the cutoff (a gap covering it): no row, whatever follows.
        (key[3], _s(C - timedelta(days=100)), _s(C - timedelta(days=5))),
        (key[3], _s(C + timedelta(days=5)), nan),
        # 5: ends exactly at C + horizon: half-open, so not active then: churned.
        (key[4], _s(C - timedelta(days=10)), _s(C + timedelta(days=H))),
        # 6: no history at all (keeps the supplier-row rule).
    ]
    keys = np.asarray([p[0] for p in periods], dtype=np.str_)
    starts = np.asarray([p[1] for p in periods])
    ends = np.asarray([p[2] for p in periods])
    has, active, later = period_labels(keys, starts, ends, ids, AS_OF, H)
    assert has.tolist() == [True, True, True, True, True, False]
    assert active.tolist() == [True, True, True, False, True, False]
    churned = active & ~later
    assert churned.tolist() == [False, False, True, False, True, False]


def test_no_history_and_no_suppliers() -> None:
    empty = np.zeros(0, dtype=np.str_)
    has, active, later = period_labels(empty, np.zeros(0), np.zeros(0), [uuid.uuid4()], AS_OF, H)
    assert has.tolist() == [False]
    assert active.tolist() == [False]
    assert later.tolist() == [False]
    keys = np.asarray([str(uuid.uuid4())], dtype=np.str_)
    has, _, _ = period_labels(keys, np.zeros(1), np.full(1, np.nan), [], AS_OF, H)
    assert has.size == 0


async def test_history_read_from_the_table_gives_the_same_labels(ctx: AppContext) -> None:
    """The periods as stored (both backends: timestamps, open ends) feed the same rule."""
    signed = (C - timedelta(days=200)).isoformat()
    ids = sorted(uuid.uuid4() for _ in range(3))
    items = [
        {
            "id": str(i),
            "business_name": f"Team {k}",
            "vendor_type": "planner",
            "country": "GB",
            "signed_up_at": signed,
            "plan_tier": "starter",
            "mrr_minor": 1000,
        }
        for k, i in enumerate(ids)
    ]
    back = C + timedelta(days=30)
    periods = [
        (ids[0], C - timedelta(days=100), C + timedelta(days=10)),  # back within the horizon
        (ids[0], back, None),
        (ids[1], C - timedelta(days=100), C + timedelta(days=10)),  # gone for good
    ]
    async with ctx.db.transaction() as session:
        await upsert_batch(session=session, items=items, now=ctx.clock())
        for sid, start, end in periods:
            session.add(
                SubscriptionPeriod(
                    supplier_id=sid,
                    plan="starter" if end is not None and start < C else "professional",
                    starts_at=start,
                    ends_at=end,
                    mrr_minor=1000,
                    currency="GBP",
                    created_at=ctx.clock(),
                )
            )
        await session.flush()
        await refresh_coverage(session=session, supplier_ids=ids)
    async with ctx.db.sessions() as session:
        history = await churn_repository.subscription_history(session)
    has, active, later = period_labels(
        history.supplier_keys, history.starts, history.ends, ids, AS_OF, H
    )
    assert has.tolist() == [True, True, False]
    assert (active & ~later).tolist() == [False, True, False]
