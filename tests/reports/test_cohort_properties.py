"""The cohort table over random histories (hypothesis), on both backends, against an oracle
that follows the definition one supplier and one age at a time: overlapping and adjacent
periods, gaps, periods starting before the signup or exactly at a month start, open ends,
suppliers without periods (their supplier row's subscription), two currencies."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from tests.reports.history import store
from wedsync_success.context import AppContext
from wedsync_success.kit.currency import DEFAULT_RATES
from wedsync_success.reports.cohorts import cohort_retention
from wedsync_success.reports.history_schemas import CohortTable
from wedsync_success.suppliers.models import SubscriptionPeriod, Supplier

ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)
AS_OF = date(2026, 9, 30)
MAX_AGE = 10
MONTH_STARTS = [datetime(2025 + (m // 12), m % 12 + 1, 1, tzinfo=UTC) for m in range(10, 24)]

# Days from ORIGIN, or a month start exactly (the boundary of month_ceiling).
instants = st.one_of(
    st.integers(min_value=-40, max_value=260).map(lambda d: ORIGIN + timedelta(days=d)),
    st.sampled_from(MONTH_STARTS),
)
period = st.tuples(
    instants,
    st.one_of(st.none(), st.integers(min_value=0, max_value=150)),  # length in days
    st.integers(min_value=0, max_value=9_000),
    st.sampled_from(["GBP", "EUR"]),
)
supplier = st.tuples(
    st.integers(min_value=0, max_value=80),  # signup, days from ORIGIN
    st.one_of(st.none(), st.integers(min_value=1, max_value=200)),  # row's subscription length
    st.lists(period, max_size=4),
)


def _rows(raw: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    suppliers, periods = [], []
    for i, (signup, row_length, history) in enumerate(raw):
        signed_up = ORIGIN + timedelta(days=signup)
        ended = None if row_length is None else signed_up + timedelta(days=row_length)
        row = {
            "id": uuid.UUID(int=i + 1),
            "business_name": f"S{i}",
            "vendor_type": "florist",
            "country": "GB",
            "signed_up_at": signed_up,
            "plan_tier": "starter",
            "mrr_minor": 1000 + i,
            "currency": "GBP",
            "subscription_status": "cancelled" if ended else "active",
            "subscription_started_at": signed_up,
            "subscription_ended_at": ended,
            "created_at": ORIGIN,
        }
        suppliers.append(row)
        for k, (start, length, mrr, currency) in enumerate(history):
            periods.append(
                {
                    "supplier_id": row["id"],
                    "plan": f"p{k}",
                    "starts_at": start,
                    "ends_at": None if length is None else start + timedelta(days=length),
                    "mrr_minor": mrr,
                    "currency": currency,
                    "quantity": 1,
                    "discount_minor": 0,
                    "bill_period_months": 1,
                    "created_at": ORIGIN,
                }
            )
    return suppliers, periods


def _covers(span: dict[str, Any], at: datetime) -> bool:
    return bool(span["starts_at"] <= at and (span["ends_at"] is None or span["ends_at"] > at))


def _to_gbp(minor: dict[str, int]) -> float:
    """Per-currency integer sums converted at the end, the report's stated arithmetic."""
    return sum(v * (DEFAULT_RATES.factor(c) or 0.0) for c, v in minor.items())


def _oracle(suppliers: list[dict[str, Any]], periods: list[dict[str, Any]]) -> dict[str, Any]:
    """Per signup month ``YYYY-MM``: (size, start MRR, [(members, active, MRR)] per age)."""
    observed = AS_OF.year * 12 + AS_OF.month  # the month start after as_of, numbered
    cohorts: dict[str, Any] = {}
    for s in suppliers:
        own = [p for p in periods if p["supplier_id"] == s["id"]]
        spans = own or [
            {
                "starts_at": s["subscription_started_at"],
                "ends_at": s["subscription_ended_at"],
                "mrr_minor": s["mrr_minor"],
                "currency": s["currency"],
            }
        ]
        signup = s["signed_up_at"].year * 12 + s["signed_up_at"].month - 1
        first = min(p["starts_at"] for p in spans)
        start: dict[str, int] = {}
        for p in spans:
            if p["starts_at"] == first:
                start[p["currency"]] = start.get(p["currency"], 0) + p["mrr_minor"]
        name = s["signed_up_at"].strftime("%Y-%m")
        cohort = cohorts.setdefault(name, {"size": 0, "start": {}, "ages": {}})
        cohort["size"] += 1
        for c, v in start.items():
            cohort["start"][c] = cohort["start"].get(c, 0) + v
        for age in range(MAX_AGE + 1):
            number = signup + age
            if number > observed:
                break
            at = datetime(number // 12, number % 12 + 1, 1, tzinfo=UTC)
            cell = cohort["ages"].setdefault(age, {"members": 0, "active": 0, "mrr": {}})
            cell["members"] += 1
            covering = [p for p in spans if _covers(p, at)] if age else []
            cell["active"] += 1 if age == 0 else bool(covering)
            for p in spans if age == 0 else covering:
                if age == 0 and p["starts_at"] != first:
                    continue
                cell["mrr"][p["currency"]] = cell["mrr"].get(p["currency"], 0) + p["mrr_minor"]
    return cohorts


def _figures(table: CohortTable) -> dict[str, Any]:
    return {
        r.key: (
            r.size,
            r.start_mrr_minor,
            [(c.members, c.active, c.mrr_minor, c.start_mrr_minor) for c in r.cells],
        )
        for r in table.rows
    }


def _expected(oracle: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, c in oracle.items():
        cells = []
        for age in sorted(c["ages"]):
            cell = c["ages"][age]
            # The start MRR of the members whose age is observed: those of the whole cohort
            # while every member's age is, which is so here (one signup month per cohort).
            cells.append(
                (cell["members"], cell["active"], round(_to_gbp(cell["mrr"])), cell["base"])
            )
        out[name] = (c["size"], round(_to_gbp(c["start"])), cells)
    return out


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(supplier, min_size=1, max_size=8))
async def test_cohort_table_equals_the_per_supplier_oracle(ctx: AppContext, raw: Any) -> None:
    suppliers, periods = _rows(raw)
    async with ctx.db.transaction() as session:
        await session.execute(delete(SubscriptionPeriod))
        await session.execute(delete(Supplier))
    await store(ctx, suppliers, periods)
    async with ctx.db.sessions() as session:
        table = await cohort_retention(
            session,
            signed_up_from=ORIGIN.date(),
            signed_up_to=date(2026, 3, 31),
            as_of=AS_OF,
            rates=DEFAULT_RATES,
            max_age=MAX_AGE,
        )
    oracle = _oracle(suppliers, periods)
    for c in oracle.values():
        base = round(_to_gbp(c["start"]))
        for cell in c["ages"].values():
            cell["base"] = base
    assert _figures(table) == _expected(oracle)
