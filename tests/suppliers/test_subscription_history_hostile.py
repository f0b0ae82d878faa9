"""Any batch of periods, on each backend: nothing crashes, what is stored never overlaps
within a plan, and the supplier row always says what its stored periods say."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from tests.factories import supplier
from wedsync_success.context import AppContext
from wedsync_success.suppliers.history import import_periods
from wedsync_success.suppliers.models import SubscriptionPeriod, Supplier
from wedsync_success.suppliers.periods import current_subscription, period_of
from wedsync_success.suppliers.service import upsert_batch

NOW = datetime(2026, 6, 15, tzinfo=UTC)
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _periods() -> st.SearchStrategy[list[dict[str, Any]]]:
    start = st.integers(0, 30).map(lambda m: date(2024, 1, 1) + timedelta(days=30 * m))
    item = st.fixed_dictionaries(
        {
            "supplier_external_id": st.sampled_from(["h1", "h2", "nobody"]),
            "plan": st.sampled_from(["starter", "professional", "scale", "gold"]),
            "start_date": start.map(date.isoformat),
            "end_date": st.one_of(st.none(), st.integers(-40, 400).map(lambda d: d)),
            "mrr_minor": st.integers(-10, 20_000),
            "currency": st.sampled_from(["GBP", "gbp", "EUR"]),
        }
    )

    def with_end(row: dict[str, Any]) -> dict[str, Any]:
        if row["end_date"] is not None:
            begin = date.fromisoformat(row["start_date"])
            row = row | {"end_date": (begin + timedelta(days=row["end_date"])).isoformat()}
        return row

    return st.lists(item.map(with_end), max_size=12)


async def _seed(ctx: AppContext) -> None:
    async with ctx.db.transaction() as session:
        await session.execute(delete(Supplier))
        await upsert_batch(
            session=session,
            items=[supplier(external_id=e, subscription_status="active") for e in ("h1", "h2")],
            now=NOW,
        )


async def _check(ctx: AppContext) -> None:
    async with ctx.db.sessions() as session:
        rows = (await session.scalars(select(SubscriptionPeriod))).all()
        suppliers = {s.id: s for s in (await session.scalars(select(Supplier))).all()}
    by_plan: dict[tuple[Any, str], list[SubscriptionPeriod]] = {}
    for row in rows:
        by_plan.setdefault((row.supplier_id, row.plan), []).append(row)
    for periods in by_plan.values():
        spans = [period_of(p) for p in periods]
        for i, a in enumerate(spans):
            assert not any(a.overlaps(b) for b in spans[i + 1 :])
    for sid, s in suppliers.items():
        mine = [period_of(p) for p in rows if p.supplier_id == sid]
        derived = current_subscription(mine, at=NOW, status_now=s.subscription_status)
        if derived is not None:
            assert (s.subscription_status, s.plan_tier, s.mrr_minor) == (
                derived.status,
                derived.plan_tier,
                derived.mrr_minor,
            )


@EXAMPLES
@given(batches=st.lists(_periods(), min_size=1, max_size=3))
async def test_any_batches_keep_history_and_subscription_consistent(
    ctx: AppContext, batches: list[list[dict[str, Any]]]
) -> None:
    await _seed(ctx)
    for items in batches:
        async with ctx.db.transaction() as session:
            result = await import_periods(session=session, items=items, now=NOW)
        assert result.created + result.updated + result.rejected == len(items)
    await _check(ctx)


async def test_concurrent_imports_of_overlapping_periods_store_one(ctx: AppContext) -> None:
    await _seed(ctx)

    async def one(start: str) -> int:
        async with ctx.db.transaction() as session:
            result = await import_periods(
                session=session,
                items=[
                    {
                        "supplier_external_id": "h1",
                        "plan": "scale",
                        "start_date": start,
                        "mrr_minor": 12900,
                        "currency": "GBP",
                    }
                ],
                now=NOW,
            )
        return result.created

    created = await asyncio.gather(*(one(f"2025-0{m}-01") for m in range(1, 7)))
    assert sum(created) == 1  # open periods of one plan: the first in wins, the rest overlap
    await _check(ctx)


def test_inconsistent_amounts_and_dates_are_refused_naming_the_field() -> None:
    """A discount above the MRR, or a period that ends where it starts, names its field."""
    from pydantic import ValidationError

    from wedsync_success.suppliers.periods import PeriodIn

    base = {
        "supplier_external_id": "cus_1",
        "plan": "starter",
        "start_date": "2025-01-01",
        "mrr_minor": 1900,
        "currency": "GBP",
    }
    assert PeriodIn.model_validate(base | {"discount_minor": 1900}).discount_minor == 1900
    for bad, field, reason in [
        ({"discount_minor": 1901}, "discount_minor", "must not exceed mrr_minor"),
        ({"end_date": "2025-01-01"}, "end_date", "must be after start_date"),
    ]:
        try:
            PeriodIn.model_validate(base | bad)
        except ValidationError as exc:
            [error] = exc.errors()
            assert (error["loc"], error["msg"]) == ((field,), f"Value error, {reason}")
        else:
            raise AssertionError(f"{bad} was accepted")
