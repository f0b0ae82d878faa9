"""Lifetime value by segment: the design notes' formula, and beside it a model-based one.

- **Formula LTV** (the design notes): ARPA x gross margin / monthly logo churn rate. Over the
  window's complete months, monthly logo churn = sum of churned / sum of active at the
  start (suppliers active at a month's first instant and not at its end, pooled over the
  months), and ARPA = their MRR at the months' starts / the same supplier-months. The
  gross margin is configured (``WEDSYNC_GROSS_MARGIN``) and stated in the output.
- **Model LTV** (``reports/sbg.py``): a shifted-beta-geometric fit on each supplier's
  monthly renewals up to ``as_of`` gives a new supplier's expected lifetime (capped at the
  horizon), and each active supplier's expected remaining lifetime given its renewals so
  far. Model LTV = ARPA x gross margin x expected lifetime.

The two answer different questions (a steady-state formula over one window, a fitted
heterogeneous-churn model over all history) and are labelled apart.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.kit.clock import start_of_day
from wedsync_success.kit.currency import Rates
from wedsync_success.kit.deferred import load
from wedsync_success.reports import repository, sbg
from wedsync_success.reports.history_schemas import (
    LtvReport,
    LtvSegment,
    SbgFit,
    SegmentBy,
    SupplierLifetime,
)
from wedsync_success.reports.months import check_range, month_starts, stated
from wedsync_success.reports.segments import Segment, segment_key
from wedsync_success.reports.survival import Durations, load_durations

SCIPY = "scipy.optimize"
"""The sBG fit's optimiser, loaded on the first LTV report: see kit/deferred.py."""
MIN_SBG_SUPPLIERS = 20
"""A segment with fewer lifetimes, or without any churn, gets no sBG fit."""
DEFINITION = (
    "Formula LTV = ARPA x gross margin / monthly logo churn, over the window's complete "
    "months: churn = suppliers active at a month's start and not at its end / active at its "
    "start, pooled; ARPA = their MRR at the months' starts / the same supplier-months "
    "(reporting currency). Model LTV = ARPA x gross margin x the expected lifetime of a "
    "shifted-beta-geometric fit on monthly renewals (Fader & Hardie 2007), capped at "
    "horizon_months; expected remaining months of an active supplier are its future renewals "
    "under the same fit."
)


def renewals(durations: Durations) -> tuple[np.ndarray, np.ndarray]:
    """(month each churned supplier left in, from 1; renewals each active one has made)."""
    left_in = np.maximum(np.ceil(durations.months - 1e-9), 1).astype(np.int64)
    made = np.floor(durations.months + 1e-9).astype(np.int64)
    return left_in, made


async def lifetime_value(
    session: AsyncSession,
    *,
    window_from: date,
    window_to: date,
    as_of: date,
    rates: Rates,
    gross_margin: float,
    by: SegmentBy = SegmentBy.ALL,
    horizon_months: int = 120,
    supplier_limit: int = 0,
) -> LtvReport:
    """LTV per segment over the complete months from ``window_from``'s to ``window_to``'s."""
    check_range(window_from, window_to, start_field="from", end_field="to")
    end = start_of_day(as_of + timedelta(days=1))
    bounds = [m for m in month_starts(window_from, _next_month(window_to)) if m <= end]
    key = segment_key(Segment(by.value))
    churn = (
        await repository.window_churn(session, key=key, bounds=bounds, rates=rates)
        if len(bounds) > 1
        else []
    )
    pooled: dict[str, list[float]] = {}
    for row in churn:
        acc = pooled.setdefault(row.key, [0, 0, 0.0])
        acc[0] += row.active_at_start
        acc[1] += row.churned
        acc[2] += row.mrr_at_start
    durations = await load_durations(session, by=by, as_of=as_of, rates=rates)
    await load(SCIPY)
    left_in, made = renewals(durations)
    keys = np.array(durations.keys, dtype=np.str_)
    mrr = np.array([life.mrr for life in durations.lifetimes], dtype=np.float64)
    segments: list[LtvSegment] = []
    remaining = np.zeros(keys.size, dtype=np.float64)
    fitted = np.zeros(keys.size, dtype=np.bool_)
    for name in sorted(set(pooled) | set(keys.tolist())):
        active, churned, mrr_sum = pooled.get(name, [0, 0, 0.0])
        rate = churned / active if active else None
        arpa = mrr_sum / active if active else None
        ltv = arpa * gross_margin / rate if arpa is not None and rate else None
        mask = keys == name
        alive = mask & ~durations.churned
        fit: SbgFit | None = None
        sbg_ltv = None
        if mask.sum() >= MIN_SBG_SUPPLIERS and durations.churned[mask].any():
            params = sbg.fit_sbg(left_in[mask & durations.churned], made[alive])
            if alive.any():
                remaining[alive] = sbg.expected_remaining(
                    params, made[alive], horizon=horizon_months
                )
                fitted[alive] = True
            lifetime = sbg.expected_lifetime(params, horizon=horizon_months)
            fit = SbgFit(
                alpha=round(params.alpha, 6),
                beta=round(params.beta, 6),
                suppliers=int(mask.sum()),
                converged=params.converged,
                expected_lifetime_months=round(lifetime, 4),
                mean_remaining_months=round(float(remaining[alive].mean()), 4)
                if alive.any()
                else None,
            )
            sbg_ltv = round(arpa * gross_margin * lifetime) if arpa is not None else None
        segments.append(
            LtvSegment(
                key=name,
                supplier_months=int(active),
                churned=int(churned),
                monthly_logo_churn=None if rate is None else round(rate, 6),
                arpa_minor=None if arpa is None else round(arpa),
                ltv_minor=None if ltv is None or not math.isfinite(ltv) else round(ltv),
                sbg=fit,
                sbg_ltv_minor=sbg_ltv,
            )
        )
    value = mrr * gross_margin * remaining
    top = np.flatnonzero(fitted)
    top = top[np.argsort(-value[top], kind="stable")][:supplier_limit]
    lives = durations.lifetimes
    return LtvReport(
        by=by,
        window_from=window_from.replace(day=1),
        window_to=window_to.replace(day=1),
        months=max(len(bounds) - 1, 0),
        as_of=as_of,
        gross_margin=gross_margin,
        horizon_months=horizon_months,
        reporting=stated(rates),
        definition=DEFINITION,
        segments=segments,
        suppliers=[
            SupplierLifetime(
                supplier_id=lives[i].supplier_id,
                key=lives[i].key,
                tenure_months=int(made[i]),
                mrr_minor=round(mrr[i]),
                expected_remaining_months=round(float(remaining[i]), 4),
                expected_remaining_value_minor=round(float(value[i])),
            )
            for i in top.tolist()
        ],
    )


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
