"""The two set-based queries behind the ROI report: the window's runs by playbook, arm and
currency, and the messages and team tasks those runs were sent.

The cohort is every run enrolled in ``[start, end)``; each is *retained* when its supplier
is a customer at ``end`` (the one rule of ``suppliers.subscriptions.active_at_by_periods``).
Costs are the cohort's own: the messages and tasks of those runs handed to a channel before ``end``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.interventions.channels.base import Channel
from wedsync_success.interventions.models import Intervention, PlaybookRun, RunStatus
from wedsync_success.interventions.results_repository import HANDED_TO_CHANNEL, MESSAGE_CHANNELS
from wedsync_success.suppliers.models import Supplier
from wedsync_success.suppliers.subscriptions import active_at_by_periods

COSTED_CHANNELS = (*MESSAGE_CHANNELS, Channel.TASK)
"""Channels whose use costs money: messages to the supplier, and the team's tasks."""


@dataclass(frozen=True)
class CohortRow:
    """One (playbook, arm, currency) group of the runs enrolled in the window."""

    playbook_key: str
    arm: str
    currency: str
    runs: int
    retained: int
    recovered: int
    """Reached the goal before the window's end and still a customer at it."""
    lost: int
    mrr_minor: int
    """MRR at enrolment of the group's runs."""


@dataclass(frozen=True)
class UsageRow:
    playbook_key: str
    channel: str
    count: int


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))


def _in_window(start: datetime, end: datetime) -> ColumnElement[bool]:
    r = PlaybookRun
    return and_(r.enrolled_at >= start, r.enrolled_at < end)


async def cohort(session: AsyncSession, *, start: datetime, end: datetime) -> list[CohortRow]:
    """Runs enrolled in ``[start, end)`` and how many were customers at ``end``."""
    r = PlaybookRun
    retained = active_at_by_periods(end)
    query = (
        select(
            r.playbook_key,
            r.arm,
            r.currency,
            func.count().label("runs"),
            _count(retained).label("retained"),
            _count(and_(retained, r.status == RunStatus.GOAL_REACHED, r.ended_at < end)).label(
                "recovered"
            ),
            _count(not_(retained)).label("lost"),
            func.sum(r.mrr_minor_at_enrolment).label("mrr"),
        )
        .join(Supplier, Supplier.id == r.supplier_id)
        .where(_in_window(start, end))
        .group_by(r.playbook_key, r.arm, r.currency)
        .order_by(r.playbook_key, r.arm, r.currency)
    )
    return [
        CohortRow(
            playbook_key=row.playbook_key,
            arm=row.arm,
            currency=row.currency,
            runs=int(row.runs),
            retained=int(row.retained or 0),
            recovered=int(row.recovered or 0),
            lost=int(row.lost or 0),
            mrr_minor=int(row.mrr or 0),
        )
        for row in (await session.execute(query)).all()
    ]


async def usage(session: AsyncSession, *, start: datetime, end: datetime) -> list[UsageRow]:
    """Messages and tasks of the window's runs handed to a channel before ``end``."""
    i, r = Intervention, PlaybookRun
    query = (
        select(r.playbook_key, i.channel, func.count().label("n"))
        .select_from(i)
        .join(r, r.id == i.run_id)
        .where(
            _in_window(start, end),
            i.created_at < end,
            i.channel.in_(COSTED_CHANNELS),
            i.status.in_(HANDED_TO_CHANNEL),
        )
        .group_by(r.playbook_key, i.channel)
        .order_by(r.playbook_key, i.channel)
    )
    return [
        UsageRow(playbook_key=row.playbook_key, channel=row.channel, count=int(row.n))
        for row in (await session.execute(query)).all()
    ]
