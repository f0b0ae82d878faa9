"""The one definition of "a customer at instant t".

A supplier is *active at* ``t`` when its subscription period covers ``t``, the period being
half-open: ``subscription_started_at <= t < subscription_ended_at`` (an open period has no
end). A subscription ending exactly at midnight is therefore not active at that midnight,
and one starting exactly at ``t`` is. Health scoring, churn features and labels, the overview
report and the synthetic population's statistics all use these functions, so the boundary
cannot drift between them (``tests/suppliers/test_active_at.py`` checks each consumer).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, SQLColumnExpression, and_, or_

from wedsync_success.suppliers.models import Supplier

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


def active_at(moment: datetime | SQLColumnExpression[datetime]) -> ColumnElement[bool]:
    """SQL condition on ``suppliers``: the subscription period covers ``moment``.

    ``moment`` may be a value or any SQL expression of a timestamp (a bind parameter, a
    column of another table).
    """
    s = Supplier
    return and_(s.subscription_started_at <= moment, running_at(moment))


def running_at(moment: datetime | SQLColumnExpression[datetime]) -> ColumnElement[bool]:
    """SQL condition: the subscription had not ended by ``moment`` (the end is excluded)."""
    ended = Supplier.subscription_ended_at
    return or_(ended.is_(None), ended > moment)


def is_active_at(*, started_at: datetime, ended_at: datetime | None, moment: datetime) -> bool:
    """The same rule for one period in Python."""
    return started_at <= moment and (ended_at is None or ended_at > moment)


def running_at_seconds(ended_seconds: FloatArray, moment_seconds: float | FloatArray) -> BoolArray:
    """Vectorised :func:`running_at` over epoch-second ends (NaN = never ended), at one
    moment or at one moment per end."""
    with np.errstate(invalid="ignore"):
        result: BoolArray = np.isnan(ended_seconds) | (ended_seconds > moment_seconds)
    return result
