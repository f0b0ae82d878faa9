"""Raw driver reads (db.raw): an untyped query converted column by column gives exactly what
SQLAlchemy's typed read gives, on both backends, NULLs included."""

from __future__ import annotations

import gc
import uuid
from datetime import UTC, date, datetime

import numpy as np
import pytest
from sqlalchemy import select

from tests.db.test_bulk import NOW, _columns, _suppliers
from wedsync_success.context import AppContext
from wedsync_success.db.bulk import upsert_columns
from wedsync_success.db.raw import (
    collection_paused,
    epoch_day,
    epoch_days,
    epoch_or_text,
    epoch_seconds,
    untyped,
    uuids,
)
from wedsync_success.health.models import HealthScore
from wedsync_success.suppliers.models import Supplier


async def test_untyped_columns_convert_to_the_typed_values(ctx: AppContext) -> None:
    ids = await _suppliers(ctx, 2)
    async with ctx.db.transaction() as session:
        await session.execute(
            Supplier.__table__.update()
            .where(Supplier.id == ids[0])
            .values(signed_up_at=datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC))
        )
        await upsert_columns(
            session,
            HealthScore.__table__,  # type: ignore[arg-type]
            key=("supplier_id",),
            columns=_columns(ids, 60.0),
            constants={"as_of": date(2026, 6, 1), "computed_at": NOW},
        )
    query = (
        select(Supplier.id, Supplier.signed_up_at, HealthScore.last_active_on, HealthScore.score)
        .join(HealthScore, HealthScore.supplier_id == Supplier.id)
        .where(Supplier.id.in_(ids))
        .order_by(Supplier.id)
    )
    async with ctx.db.sessions() as session:
        typed = (await session.execute(query)).all()
        raw = (await session.execute(untyped(query))).all()
    assert next(r._mapping.keys() for r in raw) == typed[0]._mapping.keys()
    columns = list(zip(*raw, strict=True))
    assert uuids(columns[0]) == [r.id for r in typed]
    assert all(isinstance(i, uuid.UUID) for i in uuids(columns[0]))
    assert epoch_seconds(columns[1]).tolist() == [r.signed_up_at.timestamp() for r in typed]
    days = epoch_days(columns[2])
    expected = [
        np.nan if r.last_active_on is None else float(epoch_day(r.last_active_on)) for r in typed
    ]
    np.testing.assert_array_equal(days, np.asarray(expected))
    assert np.isnan(days).sum() == 1  # one supplier's last active day is NULL
    assert list(columns[3]) == [r.score for r in typed]


def test_epoch_scales() -> None:
    assert epoch_day(date(1970, 1, 2)) == 1
    assert epoch_days(["1970-01-11", None]).tolist()[0] == 10.0
    assert epoch_days([date(1970, 1, 11)]).tolist() == [10.0]
    assert epoch_seconds(["1970-01-01 00:01:00.500000"]).tolist() == [60.5]
    assert epoch_seconds([datetime(1970, 1, 1, 0, 1, tzinfo=UTC), None])[0] == 60.0
    assert np.isnan(epoch_seconds([None, "1970-01-01 00:00:00"])[0])
    assert epoch_days([]).size == 0
    assert epoch_seconds([]).size == 0
    hexed = uuid.uuid4()
    assert uuids([hexed.hex]) == [hexed]
    assert uuids([hexed]) == [hexed]


async def test_epoch_or_text_reads_the_same_seconds_on_each_backend(ctx: AppContext) -> None:
    ids = await _suppliers(ctx, 2)
    moment = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC)
    async with ctx.db.transaction() as session:
        await session.execute(
            Supplier.__table__.update()
            .where(Supplier.id == ids[0])
            .values(subscription_ended_at=moment)
        )
    query = (
        select(epoch_or_text(Supplier.subscription_ended_at).label("ended"))
        .where(Supplier.id.in_(ids))
        .order_by(Supplier.subscription_ended_at.is_(None))
    )
    async with ctx.db.sessions() as session:
        values = (await session.scalars(untyped(query))).all()
    seconds = epoch_seconds(values)
    assert seconds[0] == pytest.approx(moment.timestamp(), abs=1e-6)  # microseconds kept
    assert np.isnan(seconds[1])  # NULL


def test_the_collector_pause_restores_what_it_found() -> None:
    assert gc.isenabled()
    with collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collection_paused():
        raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()  # the caller had it off: it stays off
    finally:
        gc.enable()
