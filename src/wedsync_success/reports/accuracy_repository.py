"""The prediction log's outcomes for the model-accuracy report, in one set-based query.

For each month, each supplier's *first* prediction of the month by each model version whose
horizon has ended by the report's ``as_of``: daily predictions of one supplier are nearly
the same row again, so one a month keeps the counts honest. The outcome is computed from the
supplier's subscription (the churn labels' rule: the subscription ended by the horizon's
end), not read from the log's ``outcome`` column, so the report does not depend on outcomes
having been filled in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import and_, case, false, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String

from wedsync_success.churn.models import ChurnPrediction
from wedsync_success.suppliers.models import Supplier


class month_of(FunctionElement[str]):  # noqa: N801 - reads as a SQL function
    """``YYYY-MM`` of a date column, the same text on both backends."""

    type = String()
    inherit_cache = True
    name = "month_of"


@compiles(month_of, "postgresql")
def _postgresql(element: month_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM')"


@compiles(month_of, "sqlite")
def _sqlite(element: month_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 7)"


@dataclass(frozen=True)
class Outcomes:
    """One row per (supplier, month, model version): the month's first prediction."""

    month: npt.NDArray[np.str_]
    """``YYYY-MM`` of the day the prediction was made for."""
    model_version: npt.NDArray[np.str_]
    probability: npt.NDArray[np.float64]
    churned: npt.NDArray[np.bool_]


async def monthly_outcomes(
    session: AsyncSession, *, start: date, end: date, known_by: datetime
) -> Outcomes:
    """Predictions made in ``[start, end)`` whose horizon ended by ``known_by``."""
    p, s = ChurnPrediction, Supplier
    in_window = and_(p.as_of >= start, p.as_of < end, p.horizon_end <= known_by)
    first = (
        select(p.supplier_id, p.model_version, func.min(p.as_of).label("first_day"))
        .where(in_window)
        .group_by(p.supplier_id, p.model_version, month_of(p.as_of))
        .subquery()
    )
    churned = case(
        (
            and_(s.subscription_ended_at.is_not(None), s.subscription_ended_at <= p.horizon_end),
            true(),
        ),
        else_=false(),
    )
    query = (
        select(month_of(p.as_of), p.model_version, p.probability, churned)
        .join(
            first,
            and_(
                first.c.supplier_id == p.supplier_id,
                first.c.model_version == p.model_version,
                first.c.first_day == p.as_of,
            ),
        )
        .join(s, s.id == p.supplier_id)
    )
    rows = (await session.execute(query)).all()
    months, versions, probabilities, outcomes = (
        [list(c) for c in zip(*rows, strict=True)] if rows else [[], [], [], []]
    )
    return Outcomes(
        month=np.asarray(months, dtype=np.str_),
        model_version=np.asarray(versions, dtype=np.str_),
        probability=np.asarray(probabilities, dtype=np.float64),
        churned=np.asarray(outcomes, dtype=np.bool_),
    )


async def pending_predictions(
    session: AsyncSession, *, start: date, end: date, known_by: datetime
) -> int:
    """Predictions made in ``[start, end)`` whose horizon has not ended by ``known_by``."""
    p = ChurnPrediction
    query = select(func.count()).where(p.as_of >= start, p.as_of < end, p.horizon_end > known_by)
    return int(await session.scalar(query) or 0)
