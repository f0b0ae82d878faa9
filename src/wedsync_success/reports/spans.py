"""Each supplier's subscription history as spans ``[starts_at, ends_at)``, one rule for every
history-based report (cohorts, survival, LTV, churn breakdowns).

A supplier with rows in ``subscription_periods`` has those periods (MRR net of discount;
several may overlap). A supplier without any (the synthetic demo population, or a customer
who never imported billing history) has one *implicit* span taken from its supplier row:
``[subscription_started_at, subscription_ended_at)`` at its current ``mrr_minor`` and
``currency``. So reports read real history where it exists and the supplier row otherwise,
never a mix for one supplier. Both readings live in :mod:`wedsync_success.suppliers.subscriptions`
(:func:`stored_periods`, :func:`implicit_periods`), where the rule belongs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, or_, union_all

from wedsync_success.suppliers.subscriptions import implicit_periods, stored_periods


def subscription_spans() -> Subquery:
    """A subquery with columns ``supplier_id, starts_at, ends_at, mrr_minor, currency``."""
    return union_all(stored_periods(), implicit_periods()).subquery("spans")


def covers(spans: Any, moment: datetime | ColumnElement[Any]) -> ColumnElement[bool]:
    """SQL condition: the span covers ``moment`` (``starts_at <= moment < ends_at``)."""
    return and_(
        spans.c.starts_at <= moment, or_(spans.c.ends_at.is_(None), spans.c.ends_at > moment)
    )
