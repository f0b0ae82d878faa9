"""Kaplan-Meier survival of suppliers as customers, with censoring, per segment.

A supplier's lifetime runs from the start of its first subscription span to the end of its
last one (``reports/spans.py``); a supplier with a span still running at the end of
``as_of`` is *censored* there (still a customer: we only know it lasted that long). Gaps are
not churn here: a supplier that came back is judged by its final end. Durations are in
months of 30.4375 days. Curves are estimated with lifelines' ``KaplanMeierFitter`` (95 %
bands by its exponential Greenwood formula) and read on a common monthly grid, so segments
compare point by point; the log-rank test says whether they differ at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.kit.clock import start_of_day
from wedsync_success.kit.currency import Rates
from wedsync_success.kit.deferred import load
from wedsync_success.reports import repository
from wedsync_success.reports.history_schemas import (
    SegmentBy,
    SurvivalCurve,
    SurvivalPoint,
    SurvivalReport,
)
from wedsync_success.reports.months import AVERAGE_MONTH_DAYS, check_range
from wedsync_success.reports.repository import Lifetime
from wedsync_success.reports.segments import Segment, segment_key

FloatArray = npt.NDArray[np.float64]

LIFELINES = "lifelines.statistics"
"""Loaded on the first survival report (with pandas), not with the app: see kit/deferred.py."""
EARLIEST = date(1970, 1, 1)
DEFINITION = (
    "Lifetime: from a supplier's first subscription start to the end of its last (churn), "
    "or to the end of as_of while a subscription runs (censored); gaps between periods are "
    "not churn. Months of 30.4375 days. Kaplan-Meier estimate with 95 % confidence bands "
    "(exponential Greenwood); log-rank test across segments."
)


@dataclass(frozen=True)
class Durations:
    """Lifetimes as arrays: months lived, whether it ended in churn, the segment."""

    months: FloatArray
    churned: npt.NDArray[np.bool_]
    keys: list[str]
    lifetimes: list[Lifetime]


async def load_durations(
    session: AsyncSession,
    *,
    by: SegmentBy,
    as_of: date,
    rates: Rates,
    signed_up_from: date | None = None,
    signed_up_to: date | None = None,
) -> Durations:
    """Every supplier's lifetime up to the end of ``as_of`` (shared with the sBG fit)."""
    end = start_of_day(as_of + timedelta(days=1))
    rows = await repository.lifetimes(
        session,
        key=segment_key(Segment(by.value)),
        signed_up_from=start_of_day(signed_up_from or EARLIEST),
        signed_up_until=start_of_day(signed_up_to + timedelta(days=1)) if signed_up_to else end,
        as_of=end,
        rates=rates,
    )
    return Durations(
        months=_months_between([r.first_start for r in rows], [r.last_end or end for r in rows]),
        churned=np.array([r.last_end is not None for r in rows], dtype=np.bool_),
        keys=[r.key for r in rows],
        lifetimes=rows,
    )


def _months_between(starts: list[datetime], ends: list[datetime]) -> FloatArray:
    first = np.array([s.timestamp() for s in starts], dtype=np.float64)
    last = np.array([e.timestamp() for e in ends], dtype=np.float64)
    months: FloatArray = np.maximum(last - first, 0.0) / (AVERAGE_MONTH_DAYS * 86_400)
    return months


def km_curve(
    key: str, months: FloatArray, churned: npt.NDArray[np.bool_], grid: FloatArray
) -> SurvivalCurve:
    """One segment's Kaplan-Meier curve read at ``grid`` (months)."""
    from lifelines import KaplanMeierFitter  # deferred: see kit/deferred.py

    fitter = KaplanMeierFitter().fit(months, churned, timeline=grid)
    survival = fitter.survival_function_.to_numpy()[:, 0]
    bands = fitter.confidence_interval_survival_function_.to_numpy()
    at_risk = months.size - np.searchsorted(np.sort(months), grid, side="left")
    # The median from the fit at the event times themselves, not from the grid.
    median = float(KaplanMeierFitter().fit(months, churned).median_survival_time_)
    points = [
        SurvivalPoint(
            month=float(t),
            survival=round(float(s), 6),
            lower=round(float(lo), 6),
            upper=round(float(hi), 6),
            at_risk=int(n),
        )
        for t, s, (lo, hi), n in zip(grid, survival, bands, at_risk, strict=True)
    ]
    return SurvivalCurve(
        key=key,
        suppliers=int(months.size),
        churned=int(churned.sum()),
        censored=int((~churned).sum()),
        median_months=round(median, 4) if math.isfinite(median) else None,
        points=points,
    )


async def survival_curves(
    session: AsyncSession,
    *,
    as_of: date,
    rates: Rates,
    by: SegmentBy = SegmentBy.ALL,
    signed_up_from: date | None = None,
    signed_up_to: date | None = None,
    horizon_months: int = 36,
) -> SurvivalReport:
    """Survival curves per segment, monthly from 0 to ``horizon_months`` (or the longest
    lifetime seen, whichever is shorter)."""
    if signed_up_from is not None and signed_up_to is not None:
        check_range(signed_up_from, signed_up_to, start_field="from", end_field="to")
    data = await load_durations(
        session,
        by=by,
        as_of=as_of,
        rates=rates,
        signed_up_from=signed_up_from,
        signed_up_to=signed_up_to,
    )
    await load(LIFELINES)
    from lifelines.statistics import multivariate_logrank_test

    longest = float(data.months.max()) if data.months.size else 0.0
    grid = np.arange(0, min(horizon_months, math.ceil(longest)) + 1, dtype=np.float64)
    names, segment_of = np.unique(np.array(data.keys, dtype=np.str_), return_inverse=True)
    curves = [
        km_curve(str(key), data.months[segment_of == j], data.churned[segment_of == j], grid)
        for j, key in enumerate(names.tolist())
    ]
    p_value = None
    if len(curves) > 1 and data.churned.any():
        test = multivariate_logrank_test(data.months, np.array(data.keys), data.churned)
        p_value = float(test.p_value)
    return SurvivalReport(
        by=by,
        as_of=as_of,
        signed_up_from=signed_up_from,
        signed_up_to=signed_up_to,
        definition=DEFINITION,
        logrank_p_value=p_value,
        curves=curves,
    )
