"""The one set-based query behind the attribution report: every conversion of the window
beside every touch of its supplier in the days before it (``reports/attribution.py``
shares the credit out).

Conversions:

- from subscription history: each period is compared with the supplier's previous one
  (by start). It *continues* it when it starts no later than :data:`GRACE_DAYS` after the
  previous one's end (a longer gap is a reactivation). A continuation at a higher net MRR
  (``mrr_minor - discount_minor``, in the reporting currency) is an **upgrade**; one that
  starts at or after the previous end and is not higher is a **renewal**.
- from activity: events of the ``referral_conversion`` role are **referrals converted**.

Touches are the supplier's positive success events from the outbox (:data:`TOUCH_EVENTS`)
and the interventions it was actually sent: sent, opened and clicked, at those instants.
Interventions of a control-arm run are never touches (the holdout received nothing).
A touch counts for a conversion when it is strictly before it and at most ``window_days``
days before it.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Float,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity.models import ActivityEvent
from wedsync_success.activity.repository import of_types
from wedsync_success.db.raw import untyped
from wedsync_success.db.shift import days_after
from wedsync_success.events.models import OutboxEvent
from wedsync_success.events.types import SuccessEventType
from wedsync_success.interventions.models import Arm, Intervention, PlaybookRun
from wedsync_success.kit.currency import Rates
from wedsync_success.reports.attribution_schemas import ConversionKind
from wedsync_success.suppliers.models import SubscriptionPeriod

_PERIODS = typing.cast(Table, SubscriptionPeriod.__table__)

GRACE_DAYS = 7
"""A period starting more than this many days after the previous one ended follows a
lapse: it is a reactivation, not a renewal or an upgrade."""

TOUCH_EVENTS = (
    SuccessEventType.HEALTH_IMPROVED,
    SuccessEventType.MILESTONE_ACHIEVED,
    SuccessEventType.SUCCESS_CHAMPION,
    SuccessEventType.SUPPORT_TICKET_CLOSED,
)
"""Success events that are something the programme did for the supplier. Intervention
events are read from the interventions themselves (so a control run's are left out);
declines, risk changes, failed payments and poor survey answers are not touches."""

INTERVENTION_STEPS = ("sent", "opened", "clicked")


@dataclass(frozen=True)
class Candidates:
    """One row per (conversion, touch) pair, ordered by conversion then touch time; a
    conversion without a touch has one row with ``touch_type`` empty."""

    kinds: Sequence[str]
    keys: Sequence[str]
    values: Sequence[float]
    """The conversion's value in the reporting currency's minor units (on each of its rows)."""
    touch_types: Sequence[str]


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _period_conversions(start: datetime, end: datetime, rates: Rates, window_days: int) -> Any:
    p = SubscriptionPeriod
    net = (p.mrr_minor - p.discount_minor) * rates.sql_factor(_PERIODS.c.currency)
    order = (p.starts_at, p.id)
    seq = (
        select(
            p.id,
            p.supplier_id,
            p.starts_at,
            net.label("net"),
            func.lag(p.ends_at).over(partition_by=p.supplier_id, order_by=order).label("prev_end"),
            func.lag(net).over(partition_by=p.supplier_id, order_by=order).label("prev_net"),
        )
        .where(p.starts_at < end)
        .subquery("seq")
    )
    higher = seq.c.net > seq.c.prev_net
    kind = case(
        (higher, literal(ConversionKind.UPGRADE.value)),
        (seq.c.starts_at >= seq.c.prev_end, literal(ConversionKind.RENEWAL.value)),
        else_=None,
    )
    value = case((higher, seq.c.net - seq.c.prev_net), else_=seq.c.net)
    return select(
        kind.label("kind"),
        cast(seq.c.id, String).label("key"),
        seq.c.supplier_id,
        seq.c.starts_at.label("at"),
        days_after(seq.c.starts_at, -window_days).label("window_start"),
        func.coalesce(cast(value, Float), 0.0).label("value"),
    ).where(
        seq.c.starts_at >= start,
        # a continuation: no later than GRACE_DAYS after the previous period's end
        seq.c.prev_end.is_not(None),
        seq.c.starts_at <= days_after(seq.c.prev_end, GRACE_DAYS),
        kind.is_not(None),
    )


def _referral_conversions(
    start: datetime, end: datetime, types: Sequence[str], window_days: int
) -> Any:
    a = ActivityEvent
    return select(
        literal(ConversionKind.REFERRAL.value).label("kind"),
        a.event_id.label("key"),
        a.supplier_id,
        a.occurred_at.label("at"),
        days_after(a.occurred_at, -window_days).label("window_start"),
        cast(literal(0.0), Float).label("value"),
    ).where(of_types(*types), a.occurred_at >= start, a.occurred_at < end)


def _touches(start: datetime, end: datetime) -> Any:
    o, i, r = OutboxEvent, Intervention, PlaybookRun
    events = select(
        o.supplier_id, o.occurred_at.label("at"), o.event_type.label("touch_type")
    ).where(
        o.event_type.in_([t.value for t in TOUCH_EVENTS]),
        o.supplier_id.is_not(None),
        o.occurred_at >= start,
        o.occurred_at < end,
    )
    treated = or_(i.run_id.is_(None), r.arm != Arm.CONTROL.value)
    steps = [
        select(
            i.supplier_id, column.label("at"), literal(f"intervention.{step}").label("touch_type")
        )
        .select_from(i)
        .outerjoin(r, r.id == i.run_id)
        .where(column.is_not(None), treated, column >= start, column < end)
        for step, column in zip(
            INTERVENTION_STEPS, (i.sent_at, i.opened_at, i.clicked_at), strict=True
        )
    ]
    return union_all(events, *steps).subquery("touches")


async def candidates(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    window_days: int,
    rates: Rates,
    referral_types: Sequence[str],
) -> Candidates:
    """Every conversion in ``[start, end)`` with each touch of its supplier in the
    ``window_days`` days before it (see the module's docstring for both)."""
    first, after = _instant(start), _instant(end)
    conversions = union_all(
        _period_conversions(first, after, rates, window_days),
        _referral_conversions(first, after, referral_types, window_days),
    ).subquery("conversions")
    touches = _touches(first - timedelta(days=window_days), after)
    c, t = conversions.c, touches.c
    in_window = and_(
        t.supplier_id == c.supplier_id,
        t.at < c.at,
        t.at >= c.window_start,
    )
    statement = (
        select(
            c.kind,
            c.key,
            c.value,
            func.coalesce(t.touch_type, "").label("touch_type"),
        )
        .select_from(conversions.outerjoin(touches, in_window))
        .order_by(c.kind, c.key, t.at, t.touch_type)
    )
    if session.get_bind().dialect.name == "postgresql":
        # The planner's cost of this one statement triggers JIT compilation, which took
        # 3.1 s of 4.3 s at 20,000 suppliers: the plan is scans, sorts and joins that run
        # faster interpreted. SET LOCAL lasts only for this read's transaction.
        await session.execute(text("SET LOCAL jit = off"))
    rows = (await session.execute(untyped(statement))).all()
    if not rows:
        return Candidates((), (), (), ())
    kinds, keys, values, touch_types = zip(*rows, strict=True)
    return Candidates(kinds, keys, values, touch_types)
