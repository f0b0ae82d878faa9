"""Writes without conflict handling, on both backends: new rows go in and read back as any
other, an existing one fails the whole insert, an update sets only the columns it names."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError

from wedsync_success.context import AppContext
from wedsync_success.db.plain_writes import insert_new, update_columns
from wedsync_success.suppliers.models import PlanTier, Supplier

NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
SUPPLIERS = cast(Table, Supplier.__table__)


def _rows(ids: list[uuid.UUID]) -> dict[str, list[Any]]:
    n = len(ids)
    return {
        "id": ids,
        "external_id": [f"pw-{i}" for i in range(n)],
        "business_name": [f"Plain {i}" for i in range(n)],
        "vendor_type": ["florist"] * n,
        "country": ["GB"] * n,
        "signed_up_at": [datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)] * n,
        "plan_tier": [PlanTier.STARTER] * n,  # an enum member, stored as its value
        "mrr_minor": [1900] * n,
        "currency": ["GBP"] * n,
        "subscription_status": ["active"] * n,
        "subscription_started_at": [datetime(2025, 1, 2, tzinfo=UTC)] * n,
        "subscription_ended_at": [None] * n,
    }


async def test_new_rows_are_inserted_and_read_back_like_any_other(ctx: AppContext) -> None:
    ids = sorted(uuid.uuid4() for _ in range(3))
    async with ctx.db.transaction() as session:
        await insert_new(session, SUPPLIERS, _rows(ids), constants={"created_at": NOW})
    async with ctx.db.sessions() as session:
        found = (await session.scalars(select(Supplier).order_by(Supplier.id))).all()
    assert [s.id for s in found] == ids
    assert {s.plan_tier for s in found} == {"starter"}
    assert {s.signed_up_at for s in found} == {datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)}
    assert {s.created_at for s in found} == {NOW}
    assert [s.subscription_ended_at for s in found] == [None, None, None]


async def test_a_row_that_exists_fails_the_whole_insert(ctx: AppContext) -> None:
    ids = sorted(uuid.uuid4() for _ in range(2))
    async with ctx.db.transaction() as session:
        await insert_new(session, SUPPLIERS, _rows(ids[:1]), constants={"created_at": NOW})
    with pytest.raises(IntegrityError):
        async with ctx.db.transaction() as session:
            await insert_new(session, SUPPLIERS, _rows(ids), constants={"created_at": NOW})
    async with ctx.db.sessions() as session:
        assert list(await session.scalars(select(Supplier.id))) == ids[:1]


async def test_an_update_sets_only_the_columns_it_names(ctx: AppContext) -> None:
    ids = sorted(uuid.uuid4() for _ in range(3))
    async with ctx.db.transaction() as session:
        await insert_new(session, SUPPLIERS, _rows(ids), constants={"created_at": NOW})
        later = datetime(2026, 2, 1, tzinfo=UTC)
        await update_columns(
            session,
            SUPPLIERS,
            key="id",
            columns={
                "id": ids[:2],
                "mrr_minor": [4900, 0],
                "subscription_ended_at": [later, None],
            },
        )
    async with ctx.db.sessions() as session:
        rows = (
            await session.execute(
                select(
                    Supplier.mrr_minor, Supplier.subscription_ended_at, Supplier.business_name
                ).order_by(Supplier.id)
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (4900, later, "Plain 0"),
        (0, None, "Plain 1"),
        (1900, None, "Plain 2"),  # not named: untouched
    ]
