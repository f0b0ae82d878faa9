"""Every query of the health domain: reading signals from rollups, writing scores, history."""

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
    BindParameter,
    Date,
    Select,
    Table,
    and_,
    bindparam,
    case,
    distinct,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from wedsync_success.activity.models import DailyRollup
from wedsync_success.db.bulk import upsert_columns
from wedsync_success.db.types import UTCDateTime, as_date
from wedsync_success.health.components import Signals
from wedsync_success.health.config import HealthConfig
from wedsync_success.health.models import HealthScore, HealthScoreHistory
from wedsync_success.integrations.referrals.models import ReferralMetric
from wedsync_success.kit.clock import start_of_day
from wedsync_success.milestones.models import MilestoneAchievement
from wedsync_success.suppliers.models import SubscriptionStatus, Supplier
from wedsync_success.suppliers.subscriptions import active_at

_CURRENT = typing.cast(Table, HealthScore.__table__)
_HISTORY = typing.cast(Table, HealthScoreHistory.__table__)

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
    onboarding: npt.NDArray[np.bool_]
    """Within the onboarding period after signup as of the day scored."""


def _floats(values: Sequence[Any]) -> npt.NDArray[np.float64]:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _windows(config: HealthConfig) -> set[int]:
    c = config.components
    return {
        c.engagement.window_days,
        c.adoption.window_days,
        c.clients.window_days,
        c.billing.window_days,
        c.support.window_days,
        c.referrals.window_days,
        config.longest_window_days(),
    }


def _since(days: int) -> Any:
    return bindparam(f"since_{days}", type_=Date())


def _build_scoring_statement(config: HealthConfig, *, filtered: bool) -> Select[Any]:
    """The scoring aggregate with every date (and the supplier list) as bind parameters.

    Built once per configuration and reused: constructing this ~60-expression statement costs
    several milliseconds of Python, far more than running it for one supplier.
    """
    c = config.components
    r = DailyRollup
    as_of = bindparam("as_of", type_=Date())
    end = bindparam("end", type_=UTCDateTime())
    ids: BindParameter[Any] = bindparam("ids", expanding=True)

    def count_of(days: int, types: Sequence[str], weight: float = 1.0) -> Any:
        return case(
            (and_(r.day > _since(days), r.event_type.in_(types)), r.count * weight), else_=0
        )

    referral_points = count_of(c.referrals.window_days, c.referrals.event_types)
    if c.referrals.bonus_event_types:
        referral_points = referral_points + count_of(
            c.referrals.window_days, c.referrals.bonus_event_types, c.referrals.bonus_multiplier
        )
    rollup_filter = [r.day > _since(config.longest_window_days()), r.day <= as_of]
    if filtered:
        rollup_filter.append(r.supplier_id.in_(ids))
    agg = (
        select(
            r.supplier_id,
            func.count(distinct(case((r.day > _since(c.engagement.window_days), r.day)))).label(
                "active"
            ),
            func.count(
                distinct(
                    case(
                        (
                            and_(
                                r.day > _since(c.adoption.window_days),
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
    if filtered:
        ach_filter.append(ma.supplier_id.in_(ids))
    achieved = (
        select(ma.supplier_id, func.count().label("n"))
        .where(*ach_filter)
        .group_by(ma.supplier_id)
        .subquery()
    )
    s = Supplier
    hs = HealthScore
    network = ReferralMetric

    def score_between(name: str) -> Any:
        h = aliased(HealthScoreHistory)
        return (
            select(h.score)
            .where(
                h.supplier_id == s.id,
                h.as_of <= bindparam(f"{name}_from", type_=Date()),
                h.as_of > bindparam(f"{name}_limit", type_=Date()),
            )
            .order_by(h.as_of.desc())
            .limit(1)
            .scalar_subquery()
        )

    active_filter = [active_at(end)]
    if filtered:
        active_filter.append(s.id.in_(ids))
    onboarding = s.signed_up_at >= bindparam("onboarding_from", type_=UTCDateTime())
    return (
        select(
            s.id,
            s.subscription_status,
            onboarding,
            agg.c.active,
            agg.c.features,
            achieved.c.n,
            agg.c.clients,
            agg.c.failed,
            agg.c.tickets,
            agg.c.referrals,
            network.reach,
            agg.c.last_day,
            hs.score,
            hs.risk_level,
            hs.as_of,
            score_between("trend_7d"),
            score_between("trend_30d"),
        )
        .outerjoin(agg, agg.c.supplier_id == s.id)
        .outerjoin(achieved, achieved.c.supplier_id == s.id)
        .outerjoin(hs, hs.supplier_id == s.id)
        .outerjoin(network, network.supplier_id == s.id)
        .where(*active_filter)
        .order_by(s.id)
    )


_STATEMENTS: dict[tuple[int, bool], tuple[HealthConfig, Select[Any]]] = {}


def _scoring_statement(config: HealthConfig, *, filtered: bool) -> Select[Any]:
    key = (id(config), filtered)
    cached = _STATEMENTS.get(key)
    if cached is None or cached[0] is not config:
        cached = (config, _build_scoring_statement(config, filtered=filtered))
        _STATEMENTS[key] = cached
    return cached[1]


def _scoring_params(
    config: HealthConfig, as_of: date, supplier_ids: Sequence[uuid.UUID] | None
) -> dict[str, Any]:
    params: dict[str, Any] = {
        f"since_{days}": as_of - timedelta(days=days) for days in _windows(config)
    }
    params |= {"as_of": as_of, "end": start_of_day(as_of + timedelta(days=1))}
    # Fewer than `days` whole days after the signup day: signed up on or after this midnight.
    params["onboarding_from"] = start_of_day(as_of - timedelta(days=config.onboarding.days - 1))
    for name, (days_back, limit_back) in TREND_WINDOWS.items():
        params[f"trend_{name}_from"] = as_of - timedelta(days=days_back)
        params[f"trend_{name}_limit"] = as_of - timedelta(days=limit_back)
    if supplier_ids is not None:
        params["ids"] = list(supplier_ids)
    return params


async def scoring_input(
    session: AsyncSession,
    config: HealthConfig,
    *,
    as_of: date,
    supplier_ids: Sequence[uuid.UUID] | None,
) -> ScoringInput:
    """Aggregate rollups into per-supplier signals in one set-based query."""
    query = _scoring_statement(config, filtered=supplier_ids is not None)
    params = _scoring_params(config, as_of, supplier_ids)
    rows = (await session.execute(query, params)).all()
    cols: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [[] for _ in range(17)]
    (
        ids,
        status,
        onboarding,
        active,
        features,
        achieved_n,
        clients,
        failed,
        tickets,
        referrals,
        reach,
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
        network_reach=counts(reach),
    )
    return ScoringInput(
        supplier_ids=list(ids),
        signals=signals,
        last_active_on=[as_date(v) for v in last_day],
        previous_score=_floats(prev_score),
        previous_risk=list(prev_risk),
        previous_as_of=list(prev_as_of),
        score_7d_ago=_floats(s7),
        score_30d_ago=_floats(s30),
        onboarding=np.array(onboarding, dtype=bool) & (config.onboarding.days > 0),
    )


async def write_history(
    session: AsyncSession, *, as_of: date, columns: Mapping[str, Sequence[Any]]
) -> None:
    """Upsert one history row per supplier for ``as_of`` (``columns``: one value per row)."""
    await upsert_columns(
        session,
        _HISTORY,
        key=("supplier_id", "as_of"),
        columns=columns,
        constants={"as_of": as_of},
    )


async def write_current(
    session: AsyncSession,
    *,
    as_of: date,
    computed_at: datetime,
    columns: Mapping[str, Sequence[Any]],
) -> None:
    """Upsert the current scores, never replacing a later as-of with an earlier one."""
    await upsert_columns(
        session,
        _CURRENT,
        key=("supplier_id",),
        columns=columns,
        constants={"as_of": as_of, "computed_at": computed_at},
        newer_only="as_of",
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


async def risk_levels(
    session: AsyncSession, supplier_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The current risk level of each of ``supplier_ids`` that has a score."""
    if not supplier_ids:
        return {}
    rows = await session.execute(
        select(HealthScore.supplier_id, HealthScore.risk_level).where(
            HealthScore.supplier_id.in_(list(supplier_ids))
        )
    )
    return {supplier_id: level for supplier_id, level in rows}


async def current_scores(
    session: AsyncSession, supplier_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[float, str]]:
    """The current score and risk level of each of ``supplier_ids`` that has a score."""
    if not supplier_ids:
        return {}
    rows = await session.execute(
        select(HealthScore.supplier_id, HealthScore.score, HealthScore.risk_level).where(
            HealthScore.supplier_id.in_(list(supplier_ids))
        )
    )
    return {supplier_id: (float(score), level) for supplier_id, score, level in rows}


async def peer_score_counts(session: AsyncSession) -> list[tuple[str, str, float, int]]:
    """(vendor type, plan, score, suppliers) over every current customer with a score: one
    aggregate, at most 1,001 rows per (vendor type, plan) as scores have one decimal."""
    h, s = HealthScore, Supplier
    rows = await session.execute(
        select(s.vendor_type, s.plan_tier, h.score, func.count())
        .select_from(h)
        .join(s, s.id == h.supplier_id)
        .where(s.subscription_status != SubscriptionStatus.CANCELLED)
        .group_by(s.vendor_type, s.plan_tier, h.score)
    )
    return [(vendor, plan, float(score), int(n)) for vendor, plan, score, n in rows]
