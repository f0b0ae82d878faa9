"""Retention and MRR movements for any window, computed from subscription history.

Definitions (``docs/reports.md``; the metric definitions of the design notes):

- A supplier is *active at* instant ``t`` when one of its subscription periods covers ``t``
  (``start <= t < end``); a supplier without stored history is judged by its row, taken as
  one implicit period. Its *net MRR* at ``t`` is, per currency, the sum of
  ``mrr_minor - discount_minor`` over the periods covering ``t``.
- Over a period ``[start, end)`` each supplier is classified by its state at the two
  instants: active at both, *retained* (its MRR change per currency is expansion or
  contraction); active at start only, *churned* (its start MRR is churned MRR); active at
  end only, *new* when no period of it began before ``start``, else *reactivated* (its end
  MRR is new or reactivation MRR). Suppliers active at neither instant (including one that
  joined and left inside the period) move nothing.

So ``start + new + expansion - contraction - churned + reactivation == end`` exactly, per
currency. Nothing here reads the clock: a report for 2019 is computed as any other.

The work is two reads of the history (``reports.retention_repository``) and NumPy over
them: each period covers a run of the report's boundaries (two binary searches), whose
counts and MRR are accumulated per supplier with difference arrays, then every supplier is
classified at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import pairwise

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.kit.currency import Rates
from wedsync_success.reports import retention_repository
from wedsync_success.reports.retention_repository import PeriodColumns
from wedsync_success.reports.schemas import MrrMovement, RetentionPeriod, RetentionReport
from wedsync_success.reports.windows import ReportPeriod, boundaries, invalid, step

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

MONTH_DAYS = 365.25 / 12
"""The length of the month a non-month period's churn is scaled to (30.4375 days)."""
MOVEMENTS = ("start", "new", "expansion", "contraction", "churned", "reactivation", "end")


def reporting_rates(rates: Rates, currency: str | None) -> Rates:
    """``rates`` with ``currency`` as the reporting currency (refused when it has no rate)."""
    if currency is None or currency == rates.reporting:
        return rates
    rebased = rates.in_currency(currency)
    if rebased is None:
        known = ", ".join(sorted({rates.reporting, *rates.to_reporting}))
        raise invalid("currency", f"no rate for {currency} (WEDSYNC_FX_RATES); known: {known}")
    return rebased


def _instant(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True)
class Movements:
    """Every figure of every period, as arrays over the periods."""

    active_at_start: IntArray
    churned: IntArray
    new: IntArray
    reactivated: IntArray
    active_at_end: IntArray
    mrr: dict[str, dict[str, IntArray]]
    """Currency -> movement name (:data:`MOVEMENTS`) -> minor units per period."""


def _per_boundary(
    supplier: IntArray, suppliers: int, lo: IntArray, hi: IntArray, width: int, weights: IntArray
) -> IntArray:
    """Per supplier and boundary, the sum of ``weights`` over the periods covering it: +w at
    the first boundary a period covers, -w at the first it does not, accumulated."""
    diff = np.zeros(suppliers * (width + 1), dtype=np.int64)
    base = supplier * (width + 1)
    np.add.at(diff, base + lo, weights)
    np.add.at(diff, base + hi, -weights)
    result: IntArray = np.cumsum(diff.reshape(suppliers, width + 1), axis=1)[:, :width]
    return result


def movements(cols: PeriodColumns, edges: list[date]) -> Movements:
    """Classify every supplier over every period between consecutive ``edges``."""
    seconds = np.array([_instant(d).timestamp() for d in edges])
    width = len(edges)
    # Boundary k is covered when start <= edge_k < end: k in [lo, hi).
    lo = np.searchsorted(seconds, cols.starts, side="left").astype(np.int64)
    hi = np.searchsorted(seconds, cols.ends, side="left").astype(np.int64)
    ones = np.ones(len(lo), dtype=np.int64)
    active = _per_boundary(cols.supplier, cols.suppliers, lo, hi, width, ones) > 0
    first = np.full(cols.suppliers, np.inf)
    np.minimum.at(first, cols.supplier, np.where(cols.earlier, -np.inf, cols.starts))
    at_start, at_end = active[:, :-1], active[:, 1:]
    seen_before = first[:, None] < seconds[None, :-1]
    retained = at_start & at_end
    churned = at_start & ~at_end
    joined = ~at_start & at_end
    new, back = joined & ~seen_before, joined & seen_before
    mrr: dict[str, dict[str, IntArray]] = {}
    for index, code in enumerate(cols.currencies):
        # Only the suppliers that ever bill in this currency (one in three of a population
        # spread over three currencies): the arrays below are theirs alone.
        mine = cols.currency == index
        holders, local = np.unique(cols.supplier[mine], return_inverse=True)
        net = _per_boundary(local, len(holders), lo[mine], hi[mine], width, cols.net_minor[mine])
        start, end = net[:, :-1], net[:, 1:]
        change = end - start
        kept = retained[holders]
        mrr[code] = {
            "start": start.sum(axis=0),
            "new": np.where(new[holders], end, 0).sum(axis=0),
            "expansion": np.where(kept & (change > 0), change, 0).sum(axis=0),
            "contraction": np.where(kept & (change < 0), -change, 0).sum(axis=0),
            "churned": np.where(churned[holders], start, 0).sum(axis=0),
            "reactivation": np.where(back[holders], end, 0).sum(axis=0),
            "end": end.sum(axis=0),
        }
    return Movements(
        active_at_start=at_start.sum(axis=0),
        churned=churned.sum(axis=0),
        new=new.sum(axis=0),
        reactivated=back.sum(axis=0),
        active_at_end=at_end.sum(axis=0),
        mrr=mrr,
    )


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def movement(figures: dict[str, int]) -> MrrMovement:
    """One currency's figures with the rates the design notes define."""
    start, churned, contraction = figures["start"], figures["churned"], figures["contraction"]
    return MrrMovement(
        **{f"mrr_{name}": figures[name] for name in MOVEMENTS},
        mrr_churn_rate=_ratio(churned + contraction, start),
        grr=_ratio(start - churned - contraction, start),
        nrr=_ratio(start - churned - contraction + figures["expansion"], start),
    )


def monthly_equivalent(rate: float | None, *, days: int, whole_month: bool) -> float | None:
    """A period's logo churn as a month's: itself for a whole month, else scaled from the
    period's length to :data:`MONTH_DAYS` (the chance to stay compounds per day)."""
    if rate is None or whole_month:
        return rate
    return float(1 - (1 - rate) ** (MONTH_DAYS / days))


def annualised(monthly: float | None) -> float | None:
    """``1 - (1 - m) ** 12``."""
    return None if monthly is None else float(1 - (1 - monthly) ** 12)


async def retention_report(
    *,
    session: AsyncSession,
    start: date,
    end: date,
    period: ReportPeriod,
    rates: Rates,
    currency: str | None = None,
) -> RetentionReport:
    """Logo and MRR movements for each ``period`` of ``[start, end)``, from history; totals
    in ``currency`` (default: the reporting currency of ``rates``)."""
    edges = boundaries(start=start, end=end, period=period)
    rates = reporting_rates(rates, currency)
    cols = await retention_repository.periods_overlapping(
        session, since=_instant(start), until=_instant(end)
    )
    moved = movements(cols, edges)
    missing = sorted(c for c in cols.currencies if rates.rate(c) is None)
    used = {
        c: rates.to_reporting[c]
        for c in cols.currencies
        if c != rates.reporting and c not in missing
    }
    out = []
    for i, (first, after) in enumerate(pairwise(edges)):
        per_currency = {
            code: {name: int(values[name][i]) for name in MOVEMENTS}
            for code, values in moved.mrr.items()
        }
        reporting = {
            name: sum(
                rates.convert(figures[name], code) or 0
                for code, figures in per_currency.items()
                if code not in missing
            )
            for name in MOVEMENTS
        }
        active, churned = int(moved.active_at_start[i]), int(moved.churned[i])
        days = (after - first).days
        complete = after == step(start, period, i + 1)
        rate = _ratio(churned, active)
        monthly = monthly_equivalent(
            rate, days=days, whole_month=complete and period is ReportPeriod.MONTH
        )
        out.append(
            RetentionPeriod(
                start=first,
                end=after,
                days=days,
                complete=complete,
                active_at_start=active,
                churned=churned,
                logo_churn_rate=rate,
                new=int(moved.new[i]),
                reactivated=int(moved.reactivated[i]),
                active_at_end=int(moved.active_at_end[i]),
                monthly_logo_churn=monthly,
                annualised_logo_churn=annualised(monthly),
                mrr={code: movement(figures) for code, figures in sorted(per_currency.items())},
                reporting=movement(reporting),
            )
        )
    return RetentionReport(
        start=start,
        end=end,
        period=period,
        reporting_currency=rates.reporting,
        rates=used,
        not_converted=missing,
        suppliers_without_history=cols.implicit,
        periods=out,
    )
