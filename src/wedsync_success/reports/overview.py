"""The overview numbers: every figure is one aggregate query, so they stay fast at 100K+.

Monthly logo churn follows the project definition: suppliers active at the start of the
month and not at its end, over suppliers active at the start.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from wedsync_success.events.models import OutboxEvent
from wedsync_success.events.types import SuccessEventType
from wedsync_success.health.config import RiskLevel
from wedsync_success.health.models import HealthScore, HealthScoreHistory
from wedsync_success.kit.clock import start_of_day
from wedsync_success.kit.currency import Rates
from wedsync_success.milestones.models import MilestoneAchievement
from wedsync_success.reports.schemas import (
    HistogramBin,
    MonthlyChurn,
    Overview,
    ReportingTotal,
    WeeklyCount,
)
from wedsync_success.suppliers.models import Supplier
from wedsync_success.suppliers.subscriptions import active_at, coverage_by_supplier

AT_RISK_LEVELS = (RiskLevel.AT_RISK.value, RiskLevel.CRITICAL.value)


def _month_start(day: date, back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


async def monthly_churn(session: AsyncSession, *, as_of: date, months: int) -> list[MonthlyChurn]:
    """Logo churn for the last ``months`` months (the current one partial), oldest first."""
    end_of_today = start_of_day(as_of + timedelta(days=1))
    starts = [start_of_day(_month_start(as_of, back)) for back in range(months - 1, -1, -1)]
    spans = [(start.date(), i != months - 1) for i, start in enumerate(starts)]
    # Active at each month's start and at its end (the next start; today's end for the last),
    # from the subscription periods: one pass grouped by supplier.
    c = coverage_by_supplier([*starts, end_of_today]).c
    columns = []
    for i in range(months):
        starting, ending = c[f"at_{i}"], c[f"at_{i + 1}"]
        columns += [func.sum(starting), func.sum(starting * (1 - ending))]
    row = (await session.execute(select(*columns))).one()
    out = []
    for i, (month, complete) in enumerate(spans):
        active, churned = int(row[2 * i] or 0), int(row[2 * i + 1] or 0)
        out.append(
            MonthlyChurn(
                month=month,
                active_at_start=active,
                churned=churned,
                rate=round(churned / active, 4) if active else None,
                complete=complete,
            )
        )
    return out


def _health_of_day(as_of: date) -> tuple[Any, ColumnElement[bool]]:
    """The history rows holding each supplier's health as of ``as_of`` (its latest score on
    or before that day: one index probe a supplier), and how they join ``suppliers``."""
    h, earlier = aliased(HealthScoreHistory), aliased(HealthScoreHistory)
    latest = (
        select(func.max(earlier.as_of))
        .where(earlier.supplier_id == Supplier.id, earlier.as_of <= as_of)
        .scalar_subquery()
    )
    return h, and_(h.supplier_id == Supplier.id, h.as_of == latest)


async def overview(session: AsyncSession, *, as_of: date, rates: Rates, today: date) -> Overview:
    """Everything the overview page shows, as of the end of ``as_of``; totals across
    currencies at ``rates``. Health is the health of that day: today's scores, or for an
    earlier day the scores it had then (from the history), so a report for a day in the
    past does not mix that day's customers with today's scores."""
    now = start_of_day(as_of + timedelta(days=1))
    h: Any
    if as_of < today:
        h, on = _health_of_day(as_of)
    else:
        h = HealthScore
        on = h.supplier_id == Supplier.id
    bins = [(low, low + 10) for low in range(0, 100, 10)]
    in_bin = [
        and_(h.score >= low, h.score < high if high < 100 else h.score <= high)
        for low, high in bins
    ]
    # One pass over active suppliers: counts, scores, MRR and histogram per (risk, currency).
    rows = (
        await session.execute(
            select(
                h.risk_level,
                Supplier.currency,
                func.count(Supplier.id),
                func.sum(h.score),
                func.sum(Supplier.mrr_minor),
                *[func.sum(case((cond, 1), else_=0)) for cond in in_bin],
            )
            .select_from(Supplier)
            .outerjoin(h, on)
            .where(active_at(now))
            .group_by(h.risk_level, Supplier.currency)
        )
    ).all()
    active_count = sum(int(r[2]) for r in rows)
    by_risk = {level.value: 0 for level in RiskLevel}
    mrr_at_risk: dict[str, int] = {}
    histogram = [0] * len(bins)
    scored, total_score = 0, 0.0
    for level, currency, n, score_sum, mrr, *hist in rows:
        if level is None:
            continue
        by_risk[level] = by_risk.get(level, 0) + int(n)
        scored += int(n)
        total_score += float(score_sum or 0)
        histogram = [a + int(b or 0) for a, b in zip(histogram, hist, strict=True)]
        if level in AT_RISK_LEVELS:
            mrr_at_risk[currency] = mrr_at_risk.get(currency, 0) + int(mrr or 0)

    week_ago = now - timedelta(days=7)
    milestones_week = int(
        await session.scalar(
            select(func.count()).where(
                MilestoneAchievement.achieved_at >= week_ago, MilestoneAchievement.achieved_at < now
            )
        )
        or 0
    )

    months = await monthly_churn(session, as_of=as_of, months=12)
    at_risk = rates.total(mrr_at_risk)
    return Overview(
        as_of=as_of,
        active_suppliers=active_count,
        churn_this_month=months[-1],
        churn_last_month=months[-2],
        average_health=round(total_score / scored, 1) if scored else None,
        suppliers_by_risk=by_risk,
        mrr_at_risk_minor=dict(sorted(mrr_at_risk.items())),
        mrr_at_risk=ReportingTotal(
            currency=at_risk.currency,
            total_minor=at_risk.minor,
            rates=at_risk.rates_used,
            not_converted_minor=at_risk.not_converted,
        ),
        milestones_this_week=milestones_week,
        health_distribution=[
            HistogramBin(low=low, high=high, count=n)
            for (low, high), n in zip(bins, histogram, strict=True)
        ],
        churn_by_month=months,
        new_at_risk_by_week=await new_at_risk_by_week(session, as_of=as_of, weeks=12),
    )


async def new_at_risk_by_week(
    session: AsyncSession, *, as_of: date, weeks: int
) -> list[WeeklyCount]:
    """Suppliers that moved into at-risk or critical, per week (Monday starts), oldest first."""
    this_monday = as_of - timedelta(days=as_of.weekday())
    starts = [this_monday - timedelta(weeks=w) for w in range(weeks - 1, -1, -1)]
    o = OutboxEvent
    entered = and_(
        o.payload["risk_level"].as_string().in_(AT_RISK_LEVELS),
        or_(
            o.payload["previous_risk_level"].as_string().is_(None),
            o.payload["previous_risk_level"].as_string().not_in(AT_RISK_LEVELS),
        ),
    )
    edges = [datetime(d.year, d.month, d.day, tzinfo=UTC) for d in starts]
    edges.append(edges[-1] + timedelta(weeks=1))
    row = (
        await session.execute(
            select(
                *[
                    func.sum(case((and_(o.occurred_at >= lo, o.occurred_at < hi), 1), else_=0))
                    for lo, hi in pairwise(edges)
                ]
            ).where(
                o.event_type == SuccessEventType.RISK_LEVEL_CHANGED.value,
                o.occurred_at >= edges[0],
                o.occurred_at < edges[-1],
                entered,
            )
        )
    ).one()
    return [WeeklyCount(week_start=d, count=int(n or 0)) for d, n in zip(starts, row, strict=True)]
