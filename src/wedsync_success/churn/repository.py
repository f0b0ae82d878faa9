"""Every query of the churn domain, except the feature aggregation (see ``features``), which
lives with the feature definition so that one file says what each feature means and how it
is computed."""

from __future__ import annotations

import typing
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Table,
    cast,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity.models import DailyRollup, SupplierEventTotal
from wedsync_success.activity.schemas import SUBSCRIPTION_EVENT_TYPES
from wedsync_success.churn.models import ChurnPrediction, SupplierChurnCurrent
from wedsync_success.db.bulk import Lookup, indexes_rebuilt, upsert_columns
from wedsync_success.db.types import as_date
from wedsync_success.health import repository as health_repository
from wedsync_success.health.components import compute as compute_health
from wedsync_success.health.config import HealthConfig
from wedsync_success.kit.clock import start_of_day
from wedsync_success.kit.currency import Rates
from wedsync_success.suppliers.models import SubscriptionPeriod, Supplier, SupplierCoverage
from wedsync_success.suppliers.subscriptions import active_at_by_periods, stretch_covers

FloatArray = npt.NDArray[np.float64]


async def data_span(session: AsyncSession) -> tuple[date | None, date | None]:
    """The first and last day that has any rolled-up activity."""
    r = DailyRollup
    first, last = (await session.execute(select(func.min(r.day), func.max(r.day)))).one()
    return as_date(first), as_date(last)


async def event_type_volumes(session: AsyncSession, *, until: date) -> list[tuple[str, int]]:
    """Every event type's rolled-up count on days up to ``until``, most frequent first
    (ties by name): the candidates of the generic features' vocabulary."""
    r = DailyRollup
    total = func.sum(r.count)
    query = (
        select(r.event_type, total)
        .where(r.day <= until)
        .group_by(r.event_type)
        .order_by(total.desc(), r.event_type)
    )
    return [(str(t), int(n)) for t, n in (await session.execute(query)).all()]


async def subscriptions_known_until(session: AsyncSession) -> date | None:
    """The day of the latest subscription fact on record: a signup, a subscription start or
    end, or a subscription event. Churn is known up to there, whatever the activity says:
    product events often stop before the billing records do, or go on after them."""
    s, t = Supplier, SupplierEventTotal
    suppliers = select(
        func.max(s.signed_up_at),
        func.max(s.subscription_started_at),
        func.max(s.subscription_ended_at),
    )
    events = select(func.max(t.last_at)).where(t.event_type.in_(sorted(SUBSCRIPTION_EVENT_TYPES)))
    known = [*(await session.execute(suppliers)).one(), await session.scalar(events)]
    moments: list[datetime] = [m for m in known if m is not None]
    return max(moments).date() if moments else None


@dataclass(frozen=True)
class SubscriptionEnds:
    """Every supplier's subscription end (epoch seconds, NaN = still a customer), by id."""

    keys: npt.NDArray[np.str_]
    ended_seconds: FloatArray


async def subscription_ends(session: AsyncSession) -> SubscriptionEnds:
    """Read once per training run: labels for every cutoff are then computed in NumPy."""
    s = Supplier
    rows = (await session.execute(select(s.id, s.subscription_ended_at))).all()
    keys = np.asarray([str(r[0]) for r in rows], dtype=np.str_)
    ended = np.asarray(
        [r[1].timestamp() if r[1] is not None else np.nan for r in rows], dtype=np.float64
    )
    order = np.argsort(keys)
    return SubscriptionEnds(keys=keys[order], ended_seconds=ended[order])


@dataclass(frozen=True)
class PeriodHistory:
    """Every billed subscription period (epoch seconds, NaN end = open), by supplier id."""

    supplier_keys: npt.NDArray[np.str_]
    starts: FloatArray
    ends: FloatArray


async def subscription_history(session: AsyncSession) -> PeriodHistory:
    """All rows of ``subscription_periods``, read once per training run (labels of every
    cutoff are then NumPy over them)."""
    p = SubscriptionPeriod
    rows = (await session.execute(select(p.supplier_id, p.starts_at, p.ends_at))).all()
    return PeriodHistory(
        supplier_keys=np.asarray([str(r[0]) for r in rows], dtype=np.str_),
        starts=np.asarray([r[1].timestamp() for r in rows], dtype=np.float64),
        ends=np.asarray(
            [r[2].timestamp() if r[2] is not None else np.nan for r in rows], dtype=np.float64
        ),
    )


async def health_scores(
    session: AsyncSession, config: HealthConfig, *, milestones_defined: int, as_of: date
) -> tuple[npt.NDArray[np.str_], FloatArray]:
    """Health scores of every active supplier as of ``as_of``, computed by the health
    domain's own code (the baseline the churn model is compared with), sorted by id."""
    data = await health_repository.scoring_input(session, config, as_of=as_of, supplier_ids=None)
    scores = compute_health(data.signals, config, milestones_defined=milestones_defined).score
    keys = np.asarray([str(i) for i in data.supplier_ids], dtype=np.str_)
    order = np.argsort(keys)
    return keys[order], np.asarray(scores, dtype=np.float64)[order]


async def supplier_end(
    session: AsyncSession, supplier_id: uuid.UUID
) -> tuple[bool, datetime | None, datetime | None]:
    """(exists, signed_up_at, subscription_ended_at) of one supplier."""
    row = (
        await session.execute(
            select(Supplier.signed_up_at, Supplier.subscription_ended_at).where(
                Supplier.id == supplier_id
            )
        )
    ).first()
    if row is None:
        return False, None, None
    return True, row[0], row[1]


@dataclass(frozen=True)
class PredictionBatch:
    """Predictions made by one model as of one day, as columns (one entry per supplier)."""

    model_version: str
    as_of: date
    horizon_days: int
    horizon_end: datetime
    predicted_at: datetime
    supplier_ids: Sequence[uuid.UUID]
    probabilities: Sequence[float]
    risk_bands: Sequence[str]
    drivers: Sequence[Sequence[Mapping[str, Any]] | None]
    """Logged drivers of each row, or None where they were not computed."""

    def __len__(self) -> int:
        return len(self.supplier_ids)


_PREDICTIONS = typing.cast(Table, ChurnPrediction.__table__)
_CURRENT = typing.cast(Table, SupplierChurnCurrent.__table__)
_SUPPLIERS = typing.cast(Table, Supplier.__table__)


def _expected_loss(rates: Rates, probability: Any, suppliers: Table) -> ColumnElement[Any]:
    """probability x the supplier's MRR (its row in ``suppliers``, as it is now) in reporting
    minor units; NULL when its currency has no rate. :meth:`Rates.factor` in SQL."""
    s = suppliers.c
    return cast(func.round(probability * s.mrr_minor * rates.sql_factor(s.currency)), BigInteger)


async def write_predictions(session: AsyncSession, batch: PredictionBatch, *, rates: Rates) -> None:
    """Log a batch of predictions and make them the suppliers' current ones: two set-based
    statements whatever the batch's size (see :func:`write_log`, :func:`write_current`)."""
    await write_log(session, batch)
    await write_current(session, batch, rates=rates)


async def write_log(session: AsyncSession, batch: PredictionBatch) -> None:
    """Upsert a batch of predictions on (supplier, day, model): scoring a day again replaces.

    Sent as columns (see :mod:`wedsync_success.db.bulk`), the model, day and horizon once.
    """
    await upsert_columns(
        session,
        _PREDICTIONS,
        key=("supplier_id", "as_of", "model_version"),
        columns={
            "supplier_id": batch.supplier_ids,
            "probability": [float(p) for p in batch.probabilities],
            "risk_band": [str(b) for b in batch.risk_bands],
            "drivers": batch.drivers,
        },
        constants={
            "model_version": batch.model_version,
            "as_of": batch.as_of,
            "horizon_days": batch.horizon_days,
            "horizon_end": batch.horizon_end,
            "predicted_at": batch.predicted_at,
        },
    )


REINDEX_AT = 10_000
"""A batch of at least this many current predictions rebuilds the current table's sort
indexes instead of updating them row by row (see :func:`db.bulk.indexes_rebuilt`)."""


async def write_current(session: AsyncSession, batch: PredictionBatch, *, rates: Rates) -> None:
    """Make a batch each supplier's current prediction (``supplier_churn_current``) unless
    one for a later day is there, with its expected MRR lost priced at ``rates`` from the
    supplier's MRR and currency in the same statement: one set-based upsert.

    A day's scoring rewrites every row, and so every entry of the two sort indexes: from
    :data:`REINDEX_AT` rows they are dropped and built again around the upsert, which on
    PostgreSQL holds the list's readers back until the commit: call it last.
    """
    if len(batch) < REINDEX_AT:
        await _upsert_current(session, batch, rates=rates)
        return
    sorts = [index.name for index in _CURRENT.indexes if index.name is not None]
    async with indexes_rebuilt(session, _CURRENT, sorts):
        await _upsert_current(session, batch, rates=rates)


async def _upsert_current(session: AsyncSession, batch: PredictionBatch, *, rates: Rates) -> None:
    await upsert_columns(
        session,
        _CURRENT,
        key=("supplier_id",),
        columns={
            "supplier_id": batch.supplier_ids,
            "probability": [float(p) for p in batch.probabilities],
            "risk_band": [str(b) for b in batch.risk_bands],
        },
        constants={
            "model_version": batch.model_version,
            "as_of": batch.as_of,
            "horizon_days": batch.horizon_days,
            "predicted_at": batch.predicted_at,
            "updated_at": batch.predicted_at,
        },
        newer_only="as_of",
        lookup=Lookup(
            table=_SUPPLIERS,
            key="id",
            by="supplier_id",
            columns={
                "expected_mrr_loss_minor": lambda value, suppliers: _expected_loss(
                    rates, value("probability"), suppliers
                )
            },
        ),
    )


async def price_current(
    session: AsyncSession, *, rates: Rates, supplier_ids: Sequence[uuid.UUID], now: datetime
) -> None:
    """Reprice the current predictions of ``supplier_ids`` from their MRR and currency as
    they are now (after a subscription change or a supplier update). One statement; a row
    whose price is unchanged is not written (a re-import of unchanged lines writes nothing)."""
    if not supplier_ids:
        return
    c = SupplierChurnCurrent
    priced = (
        select(_expected_loss(rates, c.probability, _SUPPLIERS))
        .where(_SUPPLIERS.c.id == c.supplier_id)
        .scalar_subquery()
    )
    await session.execute(
        update(c)
        .where(
            c.supplier_id.in_(sorted(set(supplier_ids))),
            c.expected_mrr_loss_minor.is_distinct_from(priced),
        )
        .values(expected_mrr_loss_minor=priced, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def current_prediction(
    session: AsyncSession, supplier_id: uuid.UUID
) -> SupplierChurnCurrent | None:
    return await session.get(SupplierChurnCurrent, supplier_id)


async def any_current(session: AsyncSession) -> bool:
    """Whether any supplier has a current churn prediction (one index probe)."""
    found = await session.scalar(select(SupplierChurnCurrent.supplier_id).limit(1))
    return found is not None


async def fill_outcomes(session: AsyncSession, *, now: datetime) -> tuple[int, int]:
    """Record outcomes that are now known; returns (churned, stayed) rows updated.

    The churn labels' rule (``churn/labels.py``), from subscription history: a prediction
    for the cutoff ``C`` (midnight after its ``as_of`` day) churned when the supplier was a
    customer at ``C`` and is not one at its horizon's end (one who left and came back within
    the horizon stayed); it stayed when the supplier is a customer at both. "A customer at
    t" is :func:`~wedsync_success.suppliers.subscriptions.active_at_by_periods` (its coverage
    stretches, or its row's implicit period). So an outcome is known once the horizon has
    ended (a return before then would change it), and recorded once. A churned outcome is
    dated at the end of the stretch that covered ``C``; a stayed one at the horizon's end. A
    prediction for a supplier who was not a customer at ``C`` gets no outcome.

    One pair of statements per distinct (day, horizon end) of the open predictions (one a
    scoring day), each set-based over that day's suppliers."""
    p = ChurnPrediction
    due = (
        await session.execute(
            select(p.as_of, p.horizon_end)
            .where(p.outcome.is_(None), p.horizon_end <= now)
            .distinct()
            .order_by(p.as_of, p.horizon_end)
        )
    ).all()
    churned = stayed = 0
    for as_of, horizon_end in due:
        cutoff = start_of_day(as_of + timedelta(days=1))
        of_day = (p.outcome.is_(None), p.as_of == as_of, p.horizon_end == horizon_end)
        left = await session.execute(
            update(p)
            .where(*of_day, _customer_at(cutoff), ~_customer_at(horizon_end))
            .values(outcome=True, outcome_at=_left_at(cutoff))
            .execution_options(synchronize_session=False)
        )
        kept = await session.execute(
            update(p)
            .where(*of_day, _customer_at(cutoff), _customer_at(horizon_end))
            .values(outcome=False, outcome_at=horizon_end)
            .execution_options(synchronize_session=False)
        )
        churned += int(getattr(left, "rowcount", 0))
        stayed += int(getattr(kept, "rowcount", 0))
    return churned, stayed


def _customer_at(moment: datetime) -> ColumnElement[bool]:
    """The prediction's supplier is a customer at ``moment``, by its history."""
    s = Supplier
    return exists().where(s.id == ChurnPrediction.supplier_id, active_at_by_periods(moment))


def _left_at(cutoff: datetime) -> Any:
    """When the prediction's supplier stopped being a customer after ``cutoff``: the end of
    its stretch covering ``cutoff``, or its row's end when it has no stored history."""
    c, s, p = SupplierCoverage, Supplier, ChurnPrediction
    stretch_end = (
        select(c.ends_at)
        .where(c.supplier_id == p.supplier_id, stretch_covers(c, cutoff))
        .scalar_subquery()
    )
    row_end = select(s.subscription_ended_at).where(s.id == p.supplier_id).scalar_subquery()
    return func.coalesce(stretch_end, row_end)


@dataclass(frozen=True)
class LoggedOutcomes:
    """Predictions whose outcome is known, as columns."""

    model_version: npt.NDArray[np.str_]
    probability: FloatArray
    outcome: npt.NDArray[np.bool_]


async def logged_outcomes(session: AsyncSession) -> LoggedOutcomes:
    p = ChurnPrediction
    rows = (
        await session.execute(
            select(p.model_version, p.probability, p.outcome).where(p.outcome.is_not(None))
        )
    ).all()
    cols: list[list[Any]] = [list(c) for c in zip(*rows, strict=True)] if rows else [[], [], []]
    return LoggedOutcomes(
        model_version=np.asarray(cols[0], dtype=np.str_),
        probability=np.asarray(cols[1], dtype=np.float64),
        outcome=np.asarray(cols[2], dtype=np.bool_),
    )


async def latest_prediction(
    session: AsyncSession, supplier_id: uuid.UUID
) -> ChurnPrediction | None:
    """The supplier's most recent logged prediction (latest day, then latest made)."""
    p = ChurnPrediction
    query = (
        select(p)
        .where(p.supplier_id == supplier_id)
        .order_by(p.as_of.desc(), p.predicted_at.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


async def latest_prediction_before(
    session: AsyncSession, supplier_id: uuid.UUID, *, before: date
) -> ChurnPrediction | None:
    """The supplier's latest logged prediction whose features are from before ``before``."""
    p = ChurnPrediction
    query = (
        select(p)
        .where(p.supplier_id == supplier_id, p.as_of < before)
        .order_by(p.as_of.desc(), p.predicted_at.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


async def current_probabilities(
    session: AsyncSession, supplier_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, float]:
    """Each supplier's current churn probability (``supplier_churn_current``: the latest
    logged prediction), the one the list and the profile show."""
    if not supplier_ids:
        return {}
    current = SupplierChurnCurrent
    rows = await session.execute(
        select(current.supplier_id, current.probability).where(
            current.supplier_id.in_(list(supplier_ids))
        )
    )
    return {supplier_id: float(probability) for supplier_id, probability in rows}
