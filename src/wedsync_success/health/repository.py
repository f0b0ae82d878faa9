"""Every query of the health domain: reading signals from rollups, writing scores, history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, and_, case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from wedsync_success.activity.models import DailyRollup
from wedsync_success.db.upsert import dialect_insert
from wedsync_success.health.components import Signals
from wedsync_success.health.config import COMPONENT_NAMES, HealthConfig
from wedsync_success.health.models import HealthScore, HealthScoreHistory
from wedsync_success.kit.clock import start_of_day
from wedsync_success.milestones.models import MilestoneAchievement
from wedsync_success.suppliers.models import SubscriptionStatus, Supplier

TREND_WINDOWS = {"7d": (7, 14), "30d": (30, 45)}
"""Trend reference: the latest history score between N and M days before as-of."""


@dataclass(frozen=True)
class ScoringInput:
    """Everything needed to score a set of suppliers as of a day, as aligned columns."""

    supplier_ids: list[uuid.UUID]
    signals: Signals
    last_active_on: list[date | None]
    previous_score: npt.NDArray[np.float64]  # NaN where never scored
    previous_risk: list[str | None]
    previous_as_of: list[date | None]
    score_7d_ago: npt.NDArray[np.float64]
    score_30d_ago: npt.NDArray[np.float64]


def _floats(values: Sequence[Any]) -> npt.NDArray[np.float64]:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


async def scoring_input(
    session: AsyncSession,
    config: HealthConfig,
    *,
    as_of: date,
    supplier_ids: Sequence[uuid.UUID] | None,
) -> ScoringInput:
    """Aggregate rollups into per-supplier signals in one set-based query."""
    c = config.components
    r = DailyRollup
    end = start_of_day(as_of + timedelta(days=1))

    def since(days: int) -> ColumnElement[bool]:
        return r.day > as_of - timedelta(days=days)

    def count_of(days: int, types: Sequence[str], weight: float = 1.0) -> Any:
        return case((and_(since(days), r.event_type.in_(types)), r.count * weight), else_=0)

    referral_points = count_of(c.referrals.window_days, c.referrals.event_types)
    if c.referrals.bonus_event_types:
        referral_points = referral_points + count_of(
            c.referrals.window_days, c.referrals.bonus_event_types, c.referrals.bonus_multiplier
        )
    rollup_filter = [r.day > as_of - timedelta(days=config.longest_window_days()), r.day <= as_of]
    if supplier_ids is not None:
        rollup_filter.append(r.supplier_id.in_(supplier_ids))
    agg = (
        select(
            r.supplier_id,
            func.count(distinct(case((since(c.engagement.window_days), r.day)))).label("active"),
            func.count(
                distinct(
                    case(
                        (
                            and_(
                                since(c.adoption.window_days),
                                r.event_type.in_(c.adoption.event_types),
                            ),
                            r.event_type,
                        )
                    )
                )
            ).label("features"),
            func.sum(count_of(c.clients.window_days, c.clients.event_types)).label("clients"),
            func.sum(count_of(c.billing.window_days, c.billing.event_types)).label("failed"),
            func.sum(count_of(c.support.window_days, c.support.event_types)).label("tickets"),
            func.sum(referral_points).label("referrals"),
            func.max(r.day).label("last_day"),
        )
        .where(*rollup_filter)
        .group_by(r.supplier_id)
        .subquery()
    )
    ma = MilestoneAchievement
    ach_filter = [ma.achieved_at < end]
    if supplier_ids is not None:
        ach_filter.append(ma.supplier_id.in_(supplier_ids))
    achieved = (
        select(ma.supplier_id, func.count().label("n"))
        .where(*ach_filter)
        .group_by(ma.supplier_id)
        .subquery()
    )
    s = Supplier
    hs = HealthScore

    def score_between(days_back: int, limit_back: int) -> Any:
        h = aliased(HealthScoreHistory)
        return (
            select(h.score)
            .where(
                h.supplier_id == s.id,
                h.as_of <= as_of - timedelta(days=days_back),
                h.as_of > as_of - timedelta(days=limit_back),
            )
            .order_by(h.as_of.desc())
            .limit(1)
            .scalar_subquery()
        )

    active_filter = [
        s.signed_up_at < end,
        or_(s.subscription_ended_at.is_(None), s.subscription_ended_at >= end),
    ]
    if supplier_ids is not None:
        active_filter.append(s.id.in_(supplier_ids))
    query = (
        select(
            s.id,
            s.subscription_status,
            agg.c.active,
            agg.c.features,
            achieved.c.n,
            agg.c.clients,
            agg.c.failed,
            agg.c.tickets,
            agg.c.referrals,
            agg.c.last_day,
            hs.score,
            hs.risk_level,
            hs.as_of,
            score_between(*TREND_WINDOWS["7d"]),
            score_between(*TREND_WINDOWS["30d"]),
        )
        .outerjoin(agg, agg.c.supplier_id == s.id)
        .outerjoin(achieved, achieved.c.supplier_id == s.id)
        .outerjoin(hs, hs.supplier_id == s.id)
        .where(*active_filter)
        .order_by(s.id)
    )
    rows = (await session.execute(query)).all()
    cols: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [[] for _ in range(15)]
    (
        ids,
        status,
        active,
        features,
        achieved_n,
        clients,
        failed,
        tickets,
        referrals,
        last_day,
        prev_score,
        prev_risk,
        prev_as_of,
        s7,
        s30,
    ) = cols

    def counts(values: Sequence[Any]) -> npt.NDArray[np.float64]:
        return np.nan_to_num(_floats(values), nan=0.0)

    signals = Signals(
        active_days=counts(active),
        features_used=counts(features),
        milestones_achieved=counts(achieved_n),
        client_actions=counts(clients),
        payments_failed=counts(failed),
        past_due=np.array([v == SubscriptionStatus.PAST_DUE for v in status], dtype=bool),
        tickets_opened=counts(tickets),
        referral_points=counts(referrals),
    )
    return ScoringInput(
        supplier_ids=list(ids),
        signals=signals,
        last_active_on=[_as_date(v) for v in last_day],
        previous_score=_floats(prev_score),
        previous_risk=list(prev_risk),
        previous_as_of=list(prev_as_of),
        score_7d_ago=_floats(s7),
        score_30d_ago=_floats(s30),
    )


def _as_date(value: Any) -> date | None:
    """``max(day)`` loses the column type on SQLite and comes back as text."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


async def write_history(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Upsert one history row per (supplier, as_of)."""
    if not rows:
        return
    stmt = dialect_insert(session, HealthScoreHistory)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["supplier_id", "as_of"],
            set_={name: stmt.excluded[name] for name in ("score", "risk_level", *COMPONENT_NAMES)},
        ),
        rows,
    )


async def write_current(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Upsert the current score, never replacing a later as-of with an earlier one."""
    if not rows:
        return
    stmt = dialect_insert(session, HealthScore)
    updatable = [c for c in rows[0] if c != "supplier_id"]
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["supplier_id"],
            set_={name: stmt.excluded[name] for name in updatable},
            where=HealthScore.as_of <= stmt.excluded.as_of,
        ),
        rows,
    )


async def current(session: AsyncSession, supplier_id: uuid.UUID) -> HealthScore | None:
    return await session.get(HealthScore, supplier_id)


async def history(
    session: AsyncSession, supplier_id: uuid.UUID, *, since: date | None, until: date | None
) -> Sequence[HealthScoreHistory]:
    h = HealthScoreHistory
    conditions = [h.supplier_id == supplier_id]
    if since is not None:
        conditions.append(h.as_of >= since)
    if until is not None:
        conditions.append(h.as_of <= until)
    rows = await session.scalars(select(h).where(*conditions).order_by(h.as_of))
    return rows.all()


async def recent_scores(
    session: AsyncSession, supplier_ids: Sequence[uuid.UUID], *, since: date
) -> dict[uuid.UUID, list[float]]:
    """Each supplier's history scores since ``since``, oldest first (for sparklines)."""
    if not supplier_ids:
        return {}
    h = HealthScoreHistory
    rows = await session.execute(
        select(h.supplier_id, h.score)
        .where(h.supplier_id.in_(supplier_ids), h.as_of >= since)
        .order_by(h.supplier_id, h.as_of)
    )
    out: dict[uuid.UUID, list[float]] = {sid: [] for sid in supplier_ids}
    for sid, score in rows:
        out[sid].append(float(score))
    return out
