"""Logged predictions get the churn labels' outcome from subscription history: churned =
a customer at the cutoff and not at the horizon's end (a return within the horizon is not
churn), known once the horizon has ended, recorded once; on both backends, and for any
history (hypothesis, against the labels' own rule ``churn.labels.period_labels``)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from tests.factories import supplier
from wedsync_success.churn import repository as churn_repository
from wedsync_success.churn.features import cutoff_seconds
from wedsync_success.churn.labels import period_labels
from wedsync_success.churn.models import ChurnPrediction
from wedsync_success.context import AppContext
from wedsync_success.kit.currency import DEFAULT_RATES
from wedsync_success.suppliers import repository as suppliers_repository
from wedsync_success.suppliers.history import import_periods
from wedsync_success.suppliers.models import Supplier
from wedsync_success.suppliers.service import upsert_batch

AS_OF = date(2026, 3, 31)
CUTOFF = datetime(2026, 4, 1, tzinfo=UTC)
HORIZON = 30
END = CUTOFF + timedelta(days=HORIZON)
NAMES = ("back", "gone", "stays", "late", "row_gone", "row_stays")


async def _suppliers(ctx: AppContext) -> dict[str, uuid.UUID]:
    rows = {
        "row_gone": {
            "subscription_ended_at": "2026-04-20T00:00:00+00:00",
            "subscription_status": "cancelled",
        },
        "row_stays": {},
    }
    async with ctx.db.transaction() as session:
        await session.execute(delete(Supplier))
        await upsert_batch(
            session=session,
            items=[
                supplier(
                    external_id=name,
                    signed_up_at="2025-06-01T00:00:00+00:00",
                    subscription_started_at="2025-06-01T00:00:00+00:00",
                    **rows.get(name, {}),
                )
                for name in NAMES
            ],
            now=CUTOFF,
        )
        return await suppliers_repository.ids_by_external_id(session, list(NAMES))


def _period(name: str, start: str, end: str | None, plan: str = "starter") -> dict[str, Any]:
    return {
        "supplier_external_id": name,
        "plan": plan,
        "start_date": start,
        "end_date": end,
        "mrr_minor": 1900,
        "currency": "GBP",
    }


async def _log(ctx: AppContext, ids: list[uuid.UUID]) -> None:
    async with ctx.db.transaction() as session:
        await churn_repository.write_predictions(
            session,
            churn_repository.PredictionBatch(
                model_version="m1",
                as_of=AS_OF,
                horizon_days=HORIZON,
                horizon_end=END,
                predicted_at=CUTOFF,
                supplier_ids=ids,
                probabilities=[0.5] * len(ids),
                risk_bands=["medium"] * len(ids),
                drivers=[None] * len(ids),
            ),
            rates=DEFAULT_RATES,
        )


async def _outcomes(ctx: AppContext) -> dict[uuid.UUID, tuple[bool | None, datetime | None]]:
    async with ctx.db.sessions() as session:
        p = ChurnPrediction
        rows = (await session.execute(select(p.supplier_id, p.outcome, p.outcome_at))).all()
    return {sid: (outcome, at) for sid, outcome, at in rows}


async def _fill(ctx: AppContext, now: datetime) -> tuple[int, int]:
    async with ctx.db.transaction() as session:
        return await churn_repository.fill_outcomes(session, now=now)


async def test_outcomes_follow_the_history_once_the_horizon_has_ended(ctx: AppContext) -> None:
    ids = await _suppliers(ctx)
    periods = [
        _period("back", "2026-01-01", "2026-04-10"),  # leaves, back before the horizon ends
        _period("back", "2026-04-25", None, plan="scale"),
        _period("gone", "2026-01-01", "2026-04-05"),  # leaves for good
        _period("gone", "2026-02-01", "2026-04-15", plan="scale"),  # ...once both end
        _period("stays", "2026-01-01", "2026-04-01"),  # renewed at the cutoff itself
        _period("stays", "2026-04-01", None),
        _period("late", "2026-04-02", None),  # not a customer at the cutoff yet
    ]
    async with ctx.db.transaction() as session:
        result = await import_periods(session=session, items=periods, now=CUTOFF)
    assert result.errors == []
    await _log(ctx, [ids[n] for n in NAMES])
    assert await _fill(ctx, END - timedelta(seconds=1)) == (0, 0)  # a return could yet come
    assert await _fill(ctx, END) == (2, 3)
    outcomes = await _outcomes(ctx)
    assert {n: outcomes[ids[n]] for n in NAMES} == {
        "back": (False, END),
        "gone": (True, datetime(2026, 4, 15, tzinfo=UTC)),
        "stays": (False, END),
        "late": (None, None),
        "row_gone": (True, datetime(2026, 4, 20, tzinfo=UTC)),
        "row_stays": (False, END),
    }
    assert await _fill(ctx, END + timedelta(days=5)) == (0, 0)  # recorded once


_DAY = st.integers(-60, 60).map(lambda d: CUTOFF + timedelta(days=d))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    histories=st.lists(
        st.lists(st.tuples(_DAY, st.one_of(st.none(), st.integers(1, 70))), max_size=3),
        min_size=len(NAMES),
        max_size=len(NAMES),
    )
)
async def test_outcomes_are_the_churn_labels_for_any_history(
    ctx: AppContext, histories: list[list[tuple[datetime, int | None]]]
) -> None:
    ids = await _suppliers(ctx)
    items, starts, ends, keys = [], [], [], []
    for name, history in zip(NAMES, histories, strict=True):
        for k, (start, length) in enumerate(history):
            end = None if length is None else start + timedelta(days=length)
            # One plan per period: periods of different plans may overlap freely.
            plan = ("starter", "professional", "scale")[k]
            items.append(
                _period(name, start.date().isoformat(), end and end.date().isoformat(), plan)
            )
            keys.append(ids[name])
            starts.append(start.timestamp())
            ends.append(np.nan if end is None else end.timestamp())
    async with ctx.db.transaction() as session:
        result = await import_periods(session=session, items=items, now=CUTOFF)
    assert result.errors == []
    await _log(ctx, [ids[n] for n in NAMES])
    await _fill(ctx, END)
    outcomes = await _outcomes(ctx)
    # The labels' rule, over the periods (a supplier without any: its row).
    order = sorted(ids.values())
    has, active, later = period_labels(
        np.array([str(k) for k in keys], dtype=np.str_),
        np.array(starts, dtype=np.float64),
        np.array(ends, dtype=np.float64),
        order,
        AS_OF,
        HORIZON,
    )
    for i, sid in enumerate(order):
        name = next(n for n, v in ids.items() if v == sid)
        if not has[i]:
            # Its row: only row_gone's subscription ends (within the horizon).
            assert outcomes[sid][0] is (name == "row_gone"), name
        elif not active[i]:
            assert outcomes[sid][0] is None, name
        else:
            assert outcomes[sid][0] is (not later[i]), name
    assert cutoff_seconds(AS_OF) == CUTOFF.timestamp()
