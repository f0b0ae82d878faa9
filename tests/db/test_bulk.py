"""The columnar upsert on both backends: values round-trip, newer rows win, bad input fails."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from tests.factories import supplier
from wedsync_success.context import AppContext
from wedsync_success.db.bulk import Keeping, sqlite_values, upsert_columns
from wedsync_success.health.models import HealthScore
from wedsync_success.suppliers.models import Supplier
from wedsync_success.suppliers.service import upsert_batch

NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
COMPONENTS = ("engagement", "adoption", "milestones", "clients", "billing", "support", "referrals")


async def _suppliers(ctx: AppContext, n: int) -> list[uuid.UUID]:
    items = [supplier() for _ in range(n)]
    async with ctx.db.transaction() as session:
        await upsert_batch(session=session, items=items, now=NOW)
    return [uuid.UUID(i["id"]) for i in items]


def _columns(ids: list[uuid.UUID], score: float) -> dict[str, list[Any]]:
    n = len(ids)
    return {
        "supplier_id": ids,
        "score": [score] * n,
        "risk_level": ["watch"] * n,
        "last_active_on": [date(2026, 5, 30), None][:n],
        "change_7d": [None, -1.5][:n],
        "change_30d": [2.0, None][:n],
        **{name: [50.0] * n for name in COMPONENTS},
        **{f"{name}_signal": [0.5] * n for name in COMPONENTS},
    }


async def _write(ctx: AppContext, columns: dict[str, list[Any]], as_of: date) -> None:
    async with ctx.db.transaction() as session:
        await upsert_columns(
            session,
            HealthScore.__table__,  # type: ignore[arg-type]
            key=("supplier_id",),
            columns=columns,
            constants={"as_of": as_of, "computed_at": NOW},
            newer_only="as_of",
        )


async def _stored(ctx: AppContext) -> dict[uuid.UUID, HealthScore]:
    async with ctx.db.sessions() as session:
        return {s.supplier_id: s for s in (await session.scalars(select(HealthScore))).all()}


async def test_values_round_trip_and_only_newer_rows_replace(ctx: AppContext) -> None:
    ids = await _suppliers(ctx, 2)
    await _write(ctx, _columns(ids, 61.5), date(2026, 5, 31))
    stored = await _stored(ctx)
    first = stored[ids[0]]
    assert (first.score, first.as_of, first.computed_at) == (61.5, date(2026, 5, 31), NOW)
    assert first.last_active_on == date(2026, 5, 30)
    assert (first.change_7d, first.change_30d) == (None, 2.0)
    assert stored[ids[1]].last_active_on is None
    await _write(ctx, _columns(ids, 10.0), date(2026, 5, 1))  # older: ignored
    assert {s.score for s in (await _stored(ctx)).values()} == {61.5}
    await _write(ctx, _columns(ids, 70.0), date(2026, 6, 1))  # newer: replaces
    assert {s.score for s in (await _stored(ctx)).values()} == {70.0}


async def test_columns_of_different_lengths_are_refused(ctx: AppContext) -> None:
    ids = await _suppliers(ctx, 2)
    columns = _columns(ids, 61.5)
    columns["score"] = [61.5]
    with pytest.raises(ValueError, match="score"):
        await _write(ctx, columns, date(2026, 5, 31))
    assert await _stored(ctx) == {}


async def test_skip_existing_keeps_the_stored_row(ctx: AppContext) -> None:
    ids = await _suppliers(ctx, 2)
    await _write(ctx, _columns(ids[:1], 61.5), date(2026, 5, 31))
    async with ctx.db.transaction() as session:
        await upsert_columns(
            session,
            HealthScore.__table__,  # type: ignore[arg-type]
            key=("supplier_id",),
            columns=_columns(ids, 10.0),
            constants={"as_of": date(2026, 6, 1), "computed_at": NOW},
            skip_existing=True,
        )
    stored = await _stored(ctx)
    assert (stored[ids[0]].score, stored[ids[0]].as_of) == (61.5, date(2026, 5, 31))
    assert (stored[ids[1]].score, stored[ids[1]].as_of) == (10.0, date(2026, 6, 1))


async def test_kept_columns_stay_and_filled_ones_change_only_when_given(ctx: AppContext) -> None:
    """created_at is written on insert only; external_id changes when a value is given."""
    ids = await _suppliers(ctx, 2)
    later = datetime(2026, 7, 1, tzinfo=UTC)

    async def write(external_ids: list[str | None]) -> None:
        async with ctx.db.transaction() as session:
            await upsert_columns(
                session,
                Supplier.__table__,  # type: ignore[arg-type]
                key=("id",),
                columns={
                    "id": ids,
                    "business_name": ["Kept Co", "Filled Co"],
                    "vendor_type": ["venue", "venue"],
                    "country": ["GB", "GB"],
                    "signed_up_at": [NOW, NOW],
                    "plan_tier": ["scale", "scale"],
                    "mrr_minor": [100, 200],
                    "currency": ["GBP", "GBP"],
                    "subscription_status": ["active", "active"],
                    "subscription_started_at": [NOW, NOW],
                    "external_id": external_ids,
                    "created_at": [later, later],
                },
                keeping=Keeping(kept=("created_at",), filled=("external_id",)),
            )

    async def stored() -> dict[uuid.UUID, tuple[Any, ...]]:
        async with ctx.db.sessions() as session:
            rows = await session.execute(
                select(Supplier.id, Supplier.external_id, Supplier.created_at, Supplier.mrr_minor)
            )
            return {r[0]: tuple(r[1:]) for r in rows}

    await write(["ext-a", "ext-b"])
    assert await stored() == {ids[0]: ("ext-a", NOW, 100), ids[1]: ("ext-b", NOW, 200)}
    await write([None, "ext-c"])
    assert await stored() == {ids[0]: ("ext-a", NOW, 100), ids[1]: ("ext-c", NOW, 200)}


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.datetimes(
                min_value=datetime(1900, 1, 1),
                max_value=datetime(2200, 1, 1),
                timezones=st.timezones(),
            ),
        ),
        max_size=5,
    )
)
def test_instants_are_converted_as_sqlalchemy_stores_them(values: list[datetime | None]) -> None:
    """The fast conversion of ``UTCDateTime`` columns gives what the type's own bind
    processing and SQLite's DATETIME give, value for value."""
    table = Supplier.__table__
    dialect = sqlite.dialect()
    column = table.c.signed_up_at.type
    processor = column.dialect_impl(dialect).bind_processor(dialect)
    assert processor is not None
    expected = [None if v is None else processor(v) for v in values]
    assert sqlite_values(table, dialect, "signed_up_at", values) == expected


def test_a_naive_instant_is_refused_by_the_fast_conversion_too() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        sqlite_values(Supplier.__table__, sqlite.dialect(), "signed_up_at", [datetime(2024, 1, 1)])
