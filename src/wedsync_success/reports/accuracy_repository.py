"""The prediction log's outcomes for the model-accuracy report, in one set-based query.

For each month, each supplier's *first* prediction of the month by each model version whose
horizon has ended by the report's ``as_of``: daily predictions of one supplier are nearly
the same row again, so one a month keeps the counts honest. The outcome is computed from the
supplier's subscription history (the churn labels' rule: not a customer at the horizon's
end, :func:`~wedsync_success.suppliers.subscriptions.join_active_at`), not read from
the log's ``outcome`` column, so the report does not depend on outcomes having been filled
in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import LargeBinary, String

from wedsync_success.churn.models import ChurnPrediction
from wedsync_success.suppliers.models import Supplier
from wedsync_success.suppliers.subscriptions import join_active_at


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


class exact_floats(FunctionElement[bytes]):  # noqa: N801 - reads as a SQL function
    """Every value of a float column in the group, packed so that each comes back exactly:
    PostgreSQL concatenates their 8-byte binary forms (``float8send``); SQLite writes each
    with the 17 significant digits that round-trip a double (``printf('%!.17g')``; plain
    ``%.17g`` and SQLite's text cast round some), separated by commas."""

    type = LargeBinary()
    inherit_cache = True
    name = "exact_floats"


@compiles(exact_floats, "postgresql")
def _floats_postgresql(element: exact_floats, compiler: SQLCompiler, **kw: Any) -> str:
    return f"string_agg(float8send({compiler.process(element.clauses, **kw)}), '')"


@compiles(exact_floats, "sqlite")
def _floats_sqlite(element: exact_floats, compiler: SQLCompiler, **kw: Any) -> str:
    return (
        f"CAST(group_concat(printf('%!.17g', {compiler.process(element.clauses, **kw)})) AS BLOB)"
    )


def unpack_floats(packed: bytes | None, dialect: str) -> npt.NDArray[np.float64]:
    """The values :class:`exact_floats` packed, as float64."""
    if not packed:
        return np.zeros(0, dtype=np.float64)
    if dialect == "postgresql":
        return np.frombuffer(packed, dtype=">f8").astype(np.float64)
    return np.array(packed.split(b","), dtype=np.float64)


@dataclass(frozen=True)
class Outcomes:
    """One row per (supplier, month, model version): the month's first prediction."""

    month: npt.NDArray[np.str_]
    """``YYYY-MM`` of the day the prediction was made for."""
    model_version: npt.NDArray[np.str_]
    probability: npt.NDArray[np.float64]
    churned: npt.NDArray[np.bool_]


def outcomes_query(*, start: date, end: date, known_by: datetime) -> Select[Any]:
    """(month, model version, churned, count, packed probabilities) of the month's first
    predictions made in ``[start, end)`` whose horizon ended by ``known_by``: one window
    pass picks each (supplier, model, month)'s first, so the log is read once."""
    p, s = ChurnPrediction, Supplier
    nth = func.row_number().over(
        partition_by=(p.supplier_id, p.model_version, month_of(p.as_of)), order_by=p.as_of
    )
    logged = select(p.as_of).join(s, s.id == p.supplier_id)
    logged, active = join_active_at(logged, p.supplier_id, p.horizon_end)
    realised = (
        logged.with_only_columns(
            month_of(p.as_of).label("month"),
            p.model_version.label("model_version"),
            p.probability.label("probability"),
            case((active, 0), else_=1).label("churned"),
            nth.label("nth"),
            maintain_column_froms=True,
        )
        .where(p.as_of >= start, p.as_of < end, p.horizon_end <= known_by)
        .subquery("realised")
    )
    r = realised.c
    return (
        select(r.month, r.model_version, r.churned, func.count(), exact_floats(r.probability))
        .where(r.nth == 1)
        .group_by(r.month, r.model_version, r.churned)
    )


async def monthly_outcomes(
    session: AsyncSession, *, start: date, end: date, known_by: datetime
) -> Outcomes:
    """Predictions made in ``[start, end)`` whose horizon ended by ``known_by``.

    Grouped in SQL by month, model version and outcome: each group's probabilities come
    back as one packed value (:class:`exact_floats`), not one row each, so the report reads
    a few rows a month however many suppliers there are, and the metrics still see every
    probability exactly (ROC-AUC and PR-AUC need each score, not a binned one)."""
    query = outcomes_query(start=start, end=end, known_by=known_by)
    dialect = session.get_bind().dialect.name
    groups = (await session.execute(query)).all()
    probabilities = [unpack_floats(packed, dialect) for *_, packed in groups]
    sizes = [int(n) for _, _, _, n, _ in groups]
    return Outcomes(
        month=np.repeat(np.array([g[0] for g in groups], dtype=np.str_), sizes),
        model_version=np.repeat(np.array([g[1] for g in groups], dtype=np.str_), sizes),
        probability=np.concatenate([np.zeros(0), *probabilities]),
        churned=np.repeat(np.array([bool(g[2]) for g in groups], dtype=np.bool_), sizes),
    )


async def pending_predictions(
    session: AsyncSession, *, start: date, end: date, known_by: datetime
) -> int:
    """Predictions made in ``[start, end)`` whose horizon has not ended by ``known_by``."""
    p = ChurnPrediction
    query = select(func.count()).where(p.as_of >= start, p.as_of < end, p.horizon_end > known_by)
    return int(await session.scalar(query) or 0)
