"""The two set-based queries behind a playbook's results: runs by arm, and the treated funnel.

Retention at a horizon uses the one rule of ``suppliers.subscriptions.active_at_by_periods``
(the subscription history, else the row as one implicit period), evaluated
at each run's own ``enrolled_at + h``; only runs enrolled at least ``h`` days before
``as_of`` are observed at that horizon, so young runs never count as retained or lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, case, distinct, func, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db.shift import days_after
from wedsync_success.interventions.channels.base import Channel
from wedsync_success.interventions.models import (
    Arm,
    DeliveryStatus,
    Intervention,
    PlaybookRun,
    RunStatus,
)
from wedsync_success.suppliers.models import Supplier
from wedsync_success.suppliers.subscriptions import active_at_by_periods

MESSAGE_CHANNELS = (Channel.EMAIL, Channel.IN_APP, Channel.SMS)
"""Channels that reach the supplier; tasks and webhooks are not part of the funnel."""
HANDED_TO_CHANNEL = (
    DeliveryStatus.SENDING,
    DeliveryStatus.RETRYING,
    DeliveryStatus.SENT,
    DeliveryStatus.FAILED,
)
"""Statuses of a message that went to its adapter ("sent" in the funnel)."""


@dataclass(frozen=True)
class HorizonCounts:
    observed: int
    retained: int
    recovered: int
    """Reached the goal by the horizon and still a customer at it."""
    lost: int
    observed_mrr_minor: int
    retained_mrr_minor: int


@dataclass(frozen=True)
class ArmRow:
    """One (arm, currency) group of a playbook's runs."""

    arm: str
    currency: str
    enrolled: int
    goal_reached: int
    horizons: dict[int, HorizonCounts]


@dataclass(frozen=True)
class FunnelCounts:
    sent: int
    delivered: int
    opened: int
    clicked: int
    messages_sent: int


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))


def _total(condition: ColumnElement[bool], value: SQLColumnExpression[int]) -> ColumnElement[Any]:
    return func.sum(case((condition, value), else_=0))


async def runs_by_arm(
    session: AsyncSession, *, playbook_key: str, as_of: datetime, horizons: Sequence[int]
) -> list[ArmRow]:
    """Counts and MRR of the playbook's runs enrolled by ``as_of``, per arm and currency."""
    r = PlaybookRun
    reached = and_(r.status == RunStatus.GOAL_REACHED, r.ended_at <= as_of)
    columns: list[SQLColumnExpression[Any]] = [
        r.arm,
        r.currency,
        func.count().label("enrolled"),
        _count(reached).label("goal_reached"),
    ]
    for h in horizons:
        moment = days_after(r.enrolled_at, h)
        observed = r.enrolled_at <= as_of - timedelta(days=h)
        retained = and_(observed, active_at_by_periods(moment))
        columns += [
            _count(observed).label(f"observed_{h}"),
            _count(retained).label(f"retained_{h}"),
            _count(and_(retained, r.status == RunStatus.GOAL_REACHED, r.ended_at <= moment)).label(
                f"recovered_{h}"
            ),
            _count(and_(observed, not_(active_at_by_periods(moment)))).label(f"lost_{h}"),
            _total(observed, r.mrr_minor_at_enrolment).label(f"observed_mrr_{h}"),
            _total(retained, r.mrr_minor_at_enrolment).label(f"retained_mrr_{h}"),
        ]
    query = (
        select(*columns)
        .join(Supplier, Supplier.id == r.supplier_id)
        .where(r.playbook_key == playbook_key, r.enrolled_at <= as_of)
        .group_by(r.arm, r.currency)
        .order_by(r.arm, r.currency)
    )
    rows = (await session.execute(query)).mappings().all()
    return [
        ArmRow(
            arm=row["arm"],
            currency=row["currency"],
            enrolled=int(row["enrolled"]),
            goal_reached=int(row["goal_reached"] or 0),
            horizons={
                h: HorizonCounts(
                    observed=int(row[f"observed_{h}"] or 0),
                    retained=int(row[f"retained_{h}"] or 0),
                    recovered=int(row[f"recovered_{h}"] or 0),
                    lost=int(row[f"lost_{h}"] or 0),
                    observed_mrr_minor=int(row[f"observed_mrr_{h}"] or 0),
                    retained_mrr_minor=int(row[f"retained_mrr_{h}"] or 0),
                )
                for h in horizons
            },
        )
        for row in rows
    ]


async def treated_funnel(
    session: AsyncSession, *, playbook_key: str, as_of: datetime
) -> FunnelCounts:
    """Treatment runs with a message sent, delivered, opened and clicked by ``as_of``."""
    i, r = Intervention, PlaybookRun
    handed = i.status.in_(HANDED_TO_CHANNEL)

    def runs_where(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.count(distinct(case((condition, i.run_id))))

    query = (
        select(
            runs_where(handed).label("sent"),
            runs_where(i.status == DeliveryStatus.SENT).label("delivered"),
            runs_where(and_(i.opened_at.is_not(None), i.opened_at <= as_of)).label("opened"),
            runs_where(and_(i.clicked_at.is_not(None), i.clicked_at <= as_of)).label("clicked"),
            _count(handed).label("messages_sent"),
        )
        .select_from(i)
        .join(r, r.id == i.run_id)
        .where(
            r.playbook_key == playbook_key,
            r.arm == Arm.TREATMENT,
            r.enrolled_at <= as_of,
            i.created_at <= as_of,
            i.channel.in_(MESSAGE_CHANNELS),
        )
    )
    row = (await session.execute(query)).mappings().one()
    return FunnelCounts(
        sent=int(row["sent"]),
        delivered=int(row["delivered"]),
        opened=int(row["opened"]),
        clicked=int(row["clicked"]),
        messages_sent=int(row["messages_sent"] or 0),
    )
