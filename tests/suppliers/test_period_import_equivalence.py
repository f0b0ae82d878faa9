"""The set-based import of periods decides exactly what the rules say, on each backend.

``import_periods`` stages a batch and lets SQL find the few periods that share an instant
with another of their supplier and plan; only those are judged one by one. These tests hold
it to the plain rule: :func:`history.overlap_refusals` run over *every* period of the batch
in order (the sequential definition), and :func:`periods.current_subscription` for each
supplier's row (the SQL derivation must write every field it gives).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from tests.factories import supplier
from wedsync_success.context import AppContext
from wedsync_success.kit.batch import validate_each
from wedsync_success.suppliers import repository
from wedsync_success.suppliers.history import import_periods, overlap_refusals
from wedsync_success.suppliers.models import SubscriptionPeriod, Supplier
from wedsync_success.suppliers.periods import PeriodIn, current_subscription, period_of
from wedsync_success.suppliers.service import upsert_batch

NOW = datetime(2026, 6, 15, tzinfo=UTC)
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
STATUSES = {"h1": "active", "h2": "trialing", "h3": "past_due"}


def _batch() -> st.SearchStrategy[list[dict[str, Any]]]:
    # Starts on a coarse grid so that repeats, touching and overlapping periods are common.
    start = st.integers(0, 40).map(lambda m: date(2024, 1, 1) + timedelta(days=30 * m))
    item = st.fixed_dictionaries(
        {
            "supplier_external_id": st.sampled_from([*STATUSES, "nobody"]),
            "plan": st.sampled_from(["starter", "professional", "scale"]),
            "start_date": start.map(date.isoformat),
            "end_date": st.one_of(st.none(), st.sampled_from([-30, 30, 60, 90, 365, 800])),
            "mrr_minor": st.integers(-5, 20_000),
            "currency": st.sampled_from(["GBP", "EUR"]),
            "discount_minor": st.integers(0, 500),
        }
    )

    def with_end(row: dict[str, Any]) -> dict[str, Any]:
        if row["end_date"] is not None:
            begin = date.fromisoformat(row["start_date"])
            row = row | {"end_date": (begin + timedelta(days=row["end_date"])).isoformat()}
        return row

    return st.lists(item.map(with_end), max_size=15)


async def _seed(ctx: AppContext) -> dict[str, uuid.UUID]:
    async with ctx.db.transaction() as session:
        await session.execute(delete(Supplier))
        await upsert_batch(
            session=session,
            items=[supplier(external_id=e, subscription_status=s) for e, s in STATUSES.items()],
            now=NOW,
        )
        return await repository.ids_by_external_id(session, list(STATUSES))


async def _expected(
    ctx: AppContext, items: list[dict[str, Any]], ids: dict[str, uuid.UUID]
) -> tuple[list[tuple[int, str, str]], int, int]:
    """(rejections, created, updated) as the sequential rule decides them over the whole
    batch, from the history stored before it."""
    async with ctx.db.sessions() as session:
        history = await repository.history_of(session, list(ids.values()))
    stored = {sid: [p for _, p in rows] for sid, rows in history.periods.items()}
    valid, rejected = validate_each(PeriodIn, items, key_field="supplier_external_id")
    errors = [(e.index, e.field, e.reason) for e in rejected]
    known = []
    for index, item in valid:
        sid = ids.get(item.supplier_external_id)
        if sid is None:
            errors.append((index, "supplier_external_id", "no supplier has this external id"))
        else:
            known.append((index, sid, item))
    refused = overlap_refusals(known, stored)
    errors += [(e.index, e.field, e.reason) for e in refused]
    dropped = {e.index for e in refused}
    accepted = [(sid, item) for index, sid, item in known if index not in dropped]
    keys = {(sid, p.plan, p.starts_at) for sid, periods in stored.items() for p in periods}
    updated = sum((sid, item.plan.value, item.starts_at) in keys for sid, item in accepted)
    return sorted(errors), len(accepted) - updated, updated


async def _statuses(ctx: AppContext) -> dict[uuid.UUID, str]:
    async with ctx.db.sessions() as session:
        return {s.id: s.subscription_status for s in (await session.scalars(select(Supplier)))}


async def _rows_say_what_periods_say(
    ctx: AppContext, before: dict[uuid.UUID, str], touched: list[uuid.UUID]
) -> None:
    """Each supplier of ``touched`` says what its periods say, its status having been
    ``before`` (a trialing or past-due status is kept while covered)."""
    async with ctx.db.sessions() as session:
        periods = (await session.scalars(select(SubscriptionPeriod))).all()
        suppliers = (await session.scalars(select(Supplier))).all()
    for s in suppliers:
        mine = [period_of(p) for p in periods if p.supplier_id == s.id]
        derived = current_subscription(mine, at=NOW, status_now=before[s.id])
        if s.id not in touched:
            assert s.subscription_status == before[s.id]
            continue
        if derived is None:
            continue
        row = (
            s.subscription_status,
            s.plan_tier,
            s.mrr_minor,
            s.currency,
            s.subscription_started_at,
            s.subscription_ended_at,
        )
        assert row == tuple(derived.as_row().values()), s.external_id


@EXAMPLES
@given(batches=st.lists(_batch(), min_size=1, max_size=3))
async def test_set_based_import_decides_as_the_sequential_rule(
    ctx: AppContext, batches: list[list[dict[str, Any]]]
) -> None:
    ids = await _seed(ctx)
    for items in batches:
        errors, created, updated = await _expected(ctx, items, ids)
        before = await _statuses(ctx)
        async with ctx.db.transaction() as session:
            result = await import_periods(session=session, items=items, now=NOW)
        assert sorted((e.index, e.field, e.reason) for e in result.errors) == errors
        assert (result.created, result.updated) == (created, updated)
        await _rows_say_what_periods_say(ctx, before, result.supplier_ids)


async def test_a_bad_period_among_good_is_refused_alone(ctx: AppContext) -> None:
    await _seed(ctx)
    good = {"supplier_external_id": "h1", "plan": "starter", "mrr_minor": 1900, "currency": "GBP"}
    items = [
        good | {"start_date": "2025-01-01", "end_date": "2025-02-01"},
        good | {"start_date": "2025-01-15", "end_date": "2025-03-01"},  # overlaps item 0
        good | {"start_date": "2025-02-01", "end_date": "2025-03-01", "mrr_minor": -1},
        good | {"start_date": "2025-02-01", "end_date": "2025-01-01"},  # ends before it starts
        good | {"start_date": "2025-02-01"},  # open, touching item 0: a renewal
        good | {"start_date": "2025-03-01", "plan": "scale", "mrr_minor": 9900},  # alongside
    ]
    before = await _statuses(ctx)
    async with ctx.db.transaction() as session:
        result = await import_periods(session=session, items=items, now=NOW)
    assert [(e.index, e.field) for e in result.errors][:2] == [(1, "start_date"), (2, "mrr_minor")]
    assert [(e.index, e.field, e.reason) for e in result.errors][2:] == [
        (3, "end_date", "must be after start_date")
    ]
    assert result.errors[0].reason == (
        "overlaps the starter period 2025-01-01 to 2025-02-01 earlier in this batch"
    )
    assert (result.created, result.updated, result.rejected) == (3, 0, 3)
    async with ctx.db.sessions() as session:
        s = await session.scalar(select(Supplier).where(Supplier.external_id == "h1"))
    assert s is not None
    # Two subscriptions at once: MRR summed, plan of the larger, covered since January.
    assert (s.subscription_status, s.plan_tier, s.mrr_minor) == ("active", "scale", 11800)
    assert s.subscription_started_at == datetime(2025, 1, 1, tzinfo=UTC)
    await _rows_say_what_periods_say(ctx, before, result.supplier_ids)


async def test_importing_a_batch_again_updates_and_writes_the_same(ctx: AppContext) -> None:
    await _seed(ctx)
    items = [
        {
            "supplier_external_id": e,
            "plan": "starter",
            "start_date": f"2025-0{m}-01",
            "end_date": f"2025-0{m + 1}-01",
            "mrr_minor": 1900,
            "currency": "GBP",
        }
        for e in STATUSES
        for m in (1, 2, 3)
    ]
    for expected in ((9, 0), (0, 9)):
        async with ctx.db.transaction() as session:
            result = await import_periods(session=session, items=items, now=NOW)
        assert (result.created, result.updated, result.errors) == (*expected, [])
    async with ctx.db.sessions() as session:
        rows = (await session.scalars(select(Supplier))).all()
    # A gap after the last period: churned at its end.
    assert {(s.subscription_status, s.subscription_ended_at) for s in rows} == {
        ("cancelled", datetime(2025, 4, 1, tzinfo=UTC))
    }


async def test_concurrent_imports_of_overlapping_files_store_each_period_once(
    ctx: AppContext,
) -> None:
    await _seed(ctx)

    def file(shift: int) -> list[dict[str, Any]]:
        """Monthly periods of every supplier; ``shift`` days later, each overlaps two."""
        return [
            {
                "supplier_external_id": e,
                "plan": "professional",
                "start_date": (date(2025, 1, 1) + timedelta(days=30 * m + shift)).isoformat(),
                "end_date": (date(2025, 1, 31) + timedelta(days=30 * m + shift)).isoformat(),
                "mrr_minor": 4900,
                "currency": "GBP",
            }
            for e in STATUSES
            for m in range(6)
        ]

    async def one(shift: int) -> tuple[int, int]:
        async with ctx.db.transaction() as session:
            result = await import_periods(session=session, items=file(shift), now=NOW)
        return result.created, result.rejected

    before = await _statuses(ctx)
    outcomes = await asyncio.gather(one(0), one(10), one(0))
    # Whichever file goes first is stored whole; the same file after it updates each period,
    # and the shifted one after it overlaps everywhere: nothing half-taken, nothing twice.
    assert sum(created for created, _ in outcomes) == 18
    assert set(outcomes) <= {(18, 0), (0, 0), (0, 18)}
    async with ctx.db.sessions() as session:
        stored = (await session.scalars(select(SubscriptionPeriod))).all()
    assert len(stored) == 18
    await _rows_say_what_periods_say(ctx, before, list(before))
