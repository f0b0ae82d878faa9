"""Each supplier's subscription history as spans ``[starts_at, ends_at)``, one rule for every
history-based report (cohorts, survival, LTV, churn breakdowns).

A supplier with rows in ``subscription_periods`` has those periods (MRR net of discount;
several may overlap). A supplier without any (the synthetic demo population, or a customer
who never imported billing history) has one *implicit* span taken from its supplier row:
``[subscription_started_at, subscription_ended_at)`` at its current ``mrr_minor`` and
``currency``. So reports read real history where it exists and the supplier row otherwise,
never a mix for one supplier.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, exists, or_, select, union_all

from wedsync_success.suppliers.models import SubscriptionPeriod, Supplier


def subscription_spans() -> Subquery:
    """A subquery with columns ``supplier_id, starts_at, ends_at, mrr_minor, currency``."""
    p, s = SubscriptionPeriod, Supplier
    periods = select(
        p.supplier_id.label("supplier_id"),
        p.starts_at.label("starts_at"),
        p.ends_at.label("ends_at"),
        (p.mrr_minor - p.discount_minor).label("mrr_minor"),
        p.currency.label("currency"),
    )
    implicit = select(
        s.id.label("supplier_id"),
        s.subscription_started_at.label("starts_at"),
        s.subscription_ended_at.label("ends_at"),
        s.mrr_minor.label("mrr_minor"),
        s.currency.label("currency"),
    ).where(~exists().where(p.supplier_id == s.id))
    return union_all(periods, implicit).subquery("spans")


def covers(spans: Any, moment: datetime | ColumnElement[Any]) -> ColumnElement[bool]:
    """SQL condition: the span covers ``moment`` (``starts_at <= moment < ends_at``)."""
    return and_(
        spans.c.starts_at <= moment, or_(spans.c.ends_at.is_(None), spans.c.ends_at > moment)
    )
