"""``supplier_churn_current``: one row per supplier, written with the prediction log (batch
scoring, POST /suppliers/{id}/churn) in the same transaction, never by anything else."""

from __future__ import annotations

import ast
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, inspect, select
from sqlalchemy.exc import IntegrityError

from tests.churn.conftest import END, Seeded
from tests.churn.test_api import _quiet_supplier
from tests.conftest import FakeClock
from tests.factories import supplier
from wedsync_success.churn import repository, service
from wedsync_success.churn.models import ChurnPrediction, SupplierChurnCurrent
from wedsync_success.churn.registry import Registry
from wedsync_success.context import AppContext
from wedsync_success.kit.currency import DEFAULT_RATES
from wedsync_success.suppliers.service import upsert_batch

DAY = date(2026, 5, 31)
NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def model(ctx: AppContext, trained: tuple[Registry, dict[str, Any]]) -> dict[str, Any]:
    registry, meta = trained
    ctx.settings.churn_registry = registry.root
    return meta


async def _suppliers(ctx: AppContext, n: int) -> list[uuid.UUID]:
    items = [supplier(mrr_minor=1000 * (i + 1)) for i in range(n)]
    async with ctx.db.transaction() as session:
        await upsert_batch(session=session, items=items, now=NOW)
    return sorted(uuid.UUID(i["id"]) for i in items)


def _batch(ids: list[uuid.UUID], p: float, *, day: date = DAY, version: str = "v1") -> Any:
    return repository.PredictionBatch(
        model_version=version,
        as_of=day,
        horizon_days=60,
        horizon_end=NOW + timedelta(days=60),
        predicted_at=NOW + timedelta(days=(day - DAY).days),
        supplier_ids=ids,
        probabilities=[p] * len(ids),
        risk_bands=["medium"] * len(ids),
        drivers=[None] * len(ids),
    )


async def _write(ctx: AppContext, batch: Any) -> None:
    async with ctx.db.transaction() as session:
        await repository.write_predictions(session, batch, rates=DEFAULT_RATES)


async def _current(ctx: AppContext) -> dict[uuid.UUID, SupplierChurnCurrent]:
    async with ctx.db.sessions() as session:
        rows = (await session.scalars(select(SupplierChurnCurrent))).all()
    return {r.supplier_id: r for r in rows}


async def _log_count(ctx: AppContext) -> int:
    async with ctx.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ChurnPrediction)) or 0)


async def test_a_batch_becomes_each_suppliers_current_prediction(ctx: AppContext) -> None:
    ids = await _suppliers(ctx, 3)
    await _write(ctx, _batch(ids, 0.25))
    current = await _current(ctx)
    assert sorted(current) == ids  # one row per supplier
    row = current[ids[0]]
    assert (row.probability, row.risk_band, row.model_version) == (0.25, "medium", "v1")
    assert (row.as_of, row.horizon_days, row.predicted_at) == (DAY, 60, NOW)
    # probability x MRR (1,000, 2,000, 3,000 pence, GBP)
    assert sorted(r.expected_mrr_loss_minor or -1 for r in current.values()) == [250, 500, 750]

    await _write(ctx, _batch(ids, 0.6, day=DAY + timedelta(days=1)))  # rescoring replaces
    assert {r.probability for r in (await _current(ctx)).values()} == {0.6}
    await _write(ctx, _batch(ids, 0.01, day=DAY - timedelta(days=5)))  # a backfill does not
    current = await _current(ctx)
    assert {r.probability for r in current.values()} == {0.6}
    assert {r.as_of for r in current.values()} == {DAY + timedelta(days=1)}
    await _write(ctx, _batch(ids, 0.3, day=DAY + timedelta(days=1), version="v2"))
    assert {r.model_version for r in (await _current(ctx)).values()} == {"v2"}
    assert len(await _current(ctx)) == 3
    assert await _log_count(ctx) == 12  # the log keeps every (supplier, day, model)


async def test_a_reprice_writes_only_the_rows_whose_price_changed(ctx: AppContext) -> None:
    ids = await _suppliers(ctx, 2)
    await _write(ctx, _batch(ids, 0.25))
    later = NOW + timedelta(hours=1)
    async with ctx.db.transaction() as session:
        await repository.price_current(
            session, rates=DEFAULT_RATES, supplier_ids=ids, now=later
        )  # nothing changed: nothing written
    before = await _current(ctx)
    assert {r.updated_at for r in before.values()} == {NOW}
    async with ctx.db.transaction() as session:
        await upsert_batch(
            session=session, items=[supplier(id=str(ids[0]), mrr_minor=8000)], now=later
        )
        await repository.price_current(session, rates=DEFAULT_RATES, supplier_ids=ids, now=later)
    current = await _current(ctx)
    assert (current[ids[0]].expected_mrr_loss_minor, current[ids[0]].updated_at) == (2000, later)
    untouched = (current[ids[1]].expected_mrr_loss_minor, current[ids[1]].updated_at)
    assert untouched == (before[ids[1]].expected_mrr_loss_minor, NOW)


async def test_a_failed_write_rolls_the_current_table_back_with_the_log(
    ctx: AppContext,
) -> None:
    ids = await _suppliers(ctx, 2)
    await _write(ctx, _batch(ids, 0.2))
    with pytest.raises(IntegrityError):  # an unknown supplier fails the whole batch
        await _write(ctx, _batch([*ids, uuid.uuid4()], 0.9, day=DAY + timedelta(days=1)))
    assert {r.probability for r in (await _current(ctx)).values()} == {0.2}
    assert await _log_count(ctx) == 2

    class Boom(Exception):
        pass

    async def fails_after_writing() -> None:
        async with ctx.db.transaction() as session:
            await repository.write_predictions(
                session, _batch(ids, 0.7, day=DAY + timedelta(days=2)), rates=DEFAULT_RATES
            )
            raise Boom

    with pytest.raises(Boom):  # anything failing later in the unit of work undoes both
        await fails_after_writing()
    assert {r.probability for r in (await _current(ctx)).values()} == {0.2}
    assert await _log_count(ctx) == 2


async def test_batch_scoring_writes_it_once_per_supplier_and_rescoring_replaces(
    seeded_sqlite: Seeded, trained: tuple[Registry, dict[str, Any]]
) -> None:
    registry, meta = trained
    db = seeded_sqlite.ctx.db
    day = (END - timedelta(days=10)).date()
    async with db.transaction() as session:
        await session.execute(delete(ChurnPrediction))
        await session.execute(delete(SupplierChurnCurrent))
        summary = await service.score_all(
            session=session, registry=registry, as_of=day, now=END, rates=DEFAULT_RATES
        )
    async with db.sessions() as session:
        current = (await session.scalars(select(SupplierChurnCurrent))).all()
        logged = {r.supplier_id: r for r in (await session.scalars(select(ChurnPrediction))).all()}
    assert len(current) == summary.scored == len(logged)
    for row in current:
        twin = logged[row.supplier_id]
        assert (row.probability, row.risk_band, row.as_of) == (
            twin.probability,
            twin.risk_band,
            twin.as_of,
        )
        assert row.model_version == meta["version"]
    later = END + timedelta(hours=3)
    async with db.transaction() as session:
        await service.score_all(
            session=session, registry=registry, as_of=day, now=later, rates=DEFAULT_RATES
        )
    async with db.sessions() as session:
        again = (await session.scalars(select(SupplierChurnCurrent))).all()
    assert len(again) == len(current)
    assert {r.predicted_at for r in again} == {later}


async def test_a_failed_scoring_run_leaves_neither_log_nor_current_rows(
    seeded_sqlite: Seeded, trained: tuple[Registry, dict[str, Any]], monkeypatch: Any
) -> None:
    registry, _ = trained
    db = seeded_sqlite.ctx.db
    async with db.transaction() as session:
        await session.execute(delete(ChurnPrediction))
        await session.execute(delete(SupplierChurnCurrent))

    async def fails(*_: Any, **__: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(repository, "write_current", fails)
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await service.score_all(
                session=session,
                registry=registry,
                as_of=(END - timedelta(days=10)).date(),
                now=END,
                rates=DEFAULT_RATES,
            )
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ChurnPrediction)) == 0
        assert await session.scalar(select(func.count()).select_from(SupplierChurnCurrent)) == 0


async def test_a_logged_api_prediction_becomes_current_and_a_read_writes_nothing(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, model: dict[str, Any]
) -> None:
    sid = await _quiet_supplier(client, clock)
    assert (await client.get(f"/api/v1/suppliers/{sid}/churn")).status_code == 200
    assert await _current(ctx) == {}
    body = (await client.post(f"/api/v1/suppliers/{sid}/churn")).json()
    [row] = (await _current(ctx)).values()
    assert row.supplier_id == uuid.UUID(sid)
    assert row.probability == pytest.approx(body["probability"])
    assert (row.risk_band, row.model_version) == (body["risk_band"], model["version"])
    assert row.as_of == clock.now.date()
    assert row.expected_mrr_loss_minor == round(body["probability"] * 4900)  # £49
    earlier = str((clock.now - timedelta(days=30)).date())
    response = await client.post(f"/api/v1/suppliers/{sid}/churn", params={"as_of": earlier})
    assert response.status_code == 200
    [still] = (await _current(ctx)).values()
    assert still.as_of == clock.now.date()  # a prediction for an earlier day is only logged


def test_interventions_never_write_the_current_table() -> None:
    """One direction: consumers emit events; they never touch scoring tables."""
    package = Path(__file__).resolve().parents[2] / "src" / "wedsync_success" / "interventions"
    forbidden = {"SupplierChurnCurrent", "supplier_churn_current", "write_current", "price_current"}
    for path in package.rglob("*.py"):
        names = {
            node.id if isinstance(node, ast.Name) else node.attr
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Name | ast.Attribute)
        }
        assert not names & forbidden, f"{path.name} uses {names & forbidden}"


async def _index_names(ctx: AppContext) -> set[str]:
    async with ctx.db.sessions() as session:
        connection = await session.connection()
        found = await connection.run_sync(
            lambda c: inspect(c).get_indexes(SupplierChurnCurrent.__tablename__)
        )
    return {i["name"] for i in found if i["name"]}


async def test_a_large_batch_rebuilds_the_sort_indexes_and_a_rollback_keeps_them(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = {i.name for i in SupplierChurnCurrent.__table__.indexes}  # type: ignore[attr-defined]
    assert expected
    assert await _index_names(ctx) >= expected
    monkeypatch.setattr(repository, "REINDEX_AT", 2)
    ids = await _suppliers(ctx, 3)
    await _write(ctx, _batch(ids, 0.4))
    assert await _index_names(ctx) >= expected
    assert {r.probability for r in (await _current(ctx)).values()} >= {0.4}

    class Boom(Exception):
        pass

    async def write_then_fail() -> None:
        async with ctx.db.transaction() as session:
            await repository.write_current(
                session, _batch(ids, 0.8, day=DAY + timedelta(days=1)), rates=DEFAULT_RATES
            )
            raise Boom

    with pytest.raises(Boom):
        await write_then_fail()
    assert await _index_names(ctx) >= expected  # the drop was rolled back with the rows
    current = await _current(ctx)
    assert {current[i].probability for i in ids} == {0.4}
    # The rebuilt indexes serve the list's order: the highest probability first.
    await _write(ctx, _batch(ids[:1], 0.9, day=DAY + timedelta(days=2)))
    async with ctx.db.sessions() as session:
        top = await session.scalar(
            select(SupplierChurnCurrent.supplier_id)
            .order_by(SupplierChurnCurrent.probability.desc())
            .limit(1)
        )
    assert top == ids[0]
