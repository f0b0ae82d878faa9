"""Importing subscription history again writes nothing, and the derivation's edges (a period
starting at the very instant, a reactivation after a gap, a change of one field) say what
the sequential rule says, on each backend."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from tests.suppliers.test_period_import_equivalence import (
    NOW,
    STATUSES,
    _rows_say_what_periods_say,
    _seed,
    _statuses,
)
from wedsync_success.context import AppContext
from wedsync_success.suppliers.history import import_periods
from wedsync_success.suppliers.models import SubscriptionPeriod, Supplier, SupplierCoverage


def _period(external_id: str, start: str, end: str | None, **more: Any) -> dict[str, Any]:
    return {
        "supplier_external_id": external_id,
        "plan": "starter",
        "start_date": start,
        "end_date": end,
        "mrr_minor": 1900,
        "currency": "GBP",
    } | more


HISTORY = [
    _period(e, start, end)
    for e in STATUSES
    for start, end in (("2025-01-01", "2025-04-01"), ("2025-04-01", "2025-09-01"))
] + [
    # h1 comes back after a gap, h2 starts a second plan at the very instant of the import.
    _period("h1", "2026-01-01", None, plan="professional", mrr_minor=4900),
    _period("h2", NOW.date().isoformat(), None, plan="scale", mrr_minor=9900),
]


async def _versions(ctx: AppContext) -> dict[str, list[Any]]:
    """Each stored row of the three tables an import writes, with what tells a rewrite: on
    PostgreSQL the row version (``xmin``: a no-op update still makes a new one), on SQLite
    the row id (coverage is rebuilt by delete and insert) and every column."""
    async with ctx.db.sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            return {
                table: sorted(await session.scalars(text(f"SELECT xmin::text FROM {table}")))
                for table in ("subscription_periods", "supplier_coverage", "suppliers")
            }
        found: dict[str, list[Any]] = {}
        for model in (SubscriptionPeriod, SupplierCoverage, Supplier):
            rows = await session.execute(select(text("rowid"), model))
            found[model.__tablename__] = sorted(
                (rowid, repr(vars(row) | {"_sa_instance_state": None})) for rowid, row in rows
            )
        return found


async def test_importing_the_same_history_again_writes_no_row(ctx: AppContext) -> None:
    await _seed(ctx)
    before = await _statuses(ctx)
    async with ctx.db.transaction() as session:
        first = await import_periods(session=session, items=HISTORY, now=NOW)
    assert (first.created, first.updated, first.errors) == (len(HISTORY), 0, [])
    assert len(first.supplier_ids) == len(STATUSES)
    await _rows_say_what_periods_say(ctx, before, first.supplier_ids)
    stored = await _versions(ctx)
    async with ctx.db.transaction() as session:
        again = await import_periods(session=session, items=HISTORY, now=NOW)
    assert (again.created, again.updated, again.errors) == (0, len(HISTORY), [])
    assert again.supplier_ids == []  # nothing to reprice or rescore
    assert await _versions(ctx) == stored


async def test_one_changed_field_rewrites_that_period_and_its_supplier_only(
    ctx: AppContext,
) -> None:
    ids = await _seed(ctx)
    async with ctx.db.transaction() as session:
        await import_periods(session=session, items=HISTORY, now=NOW)
    before = await _statuses(ctx)
    changed = [
        p | {"discount_minor": 400}
        if (p["supplier_external_id"], p["plan"]) == ("h1", "professional")
        else p
        for p in HISTORY
    ]
    async with ctx.db.transaction() as session:
        result = await import_periods(session=session, items=changed, now=NOW)
    assert (result.created, result.updated) == (0, len(HISTORY))
    assert result.supplier_ids == [ids["h1"]]
    async with ctx.db.sessions() as session:
        h1 = await session.scalar(select(Supplier).where(Supplier.id == ids["h1"]))
    assert h1 is not None
    assert h1.mrr_minor == 4500  # covered by the reactivation, net of its discount
    await _rows_say_what_periods_say(ctx, before, result.supplier_ids)


async def test_derived_rows_at_the_edges_say_what_the_rule_says(ctx: AppContext) -> None:
    ids = await _seed(ctx)
    before = await _statuses(ctx)
    async with ctx.db.transaction() as session:
        await import_periods(session=session, items=HISTORY, now=NOW)
    await _rows_say_what_periods_say(ctx, before, list(ids.values()))
    async with ctx.db.sessions() as session:
        rows = {
            s.external_id: s
            for s in await session.scalars(select(Supplier).where(Supplier.id.in_(ids.values())))
        }
    # A reactivation after a gap starts the subscription again; a period starting at the
    # instant is a customer from that instant (h2 trialing: kept while covered).
    assert rows["h1"].subscription_status == "active"
    assert rows["h1"].subscription_started_at.date().isoformat() == "2026-01-01"
    assert (rows["h2"].subscription_status, rows["h2"].plan_tier, rows["h2"].mrr_minor) == (
        "trialing",
        "scale",
        9900,
    )
    assert rows["h2"].subscription_started_at == NOW
    # h3's last period ended: churned at its end, with that period's plan and amount.
    assert (rows["h3"].subscription_status, rows["h3"].mrr_minor) == ("cancelled", 1900)
    assert rows["h3"].subscription_ended_at is not None
    assert rows["h3"].subscription_ended_at.date().isoformat() == "2025-09-01"
