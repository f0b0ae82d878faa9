"""Summary statistics of a population, for calibrating the generator and checking its realism.

The generator's parameters are tuned so that these land where real subscription businesses
sit (a few percent monthly logo churn); tests and benchmarks read them from here rather than
each re-deriving them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from wedsync_success.suppliers.subscriptions import is_active_at
from wedsync_success.synthetic.model import Population
from wedsync_success.synthetic.timeline import shift_months


def month_starts(population: Population) -> Iterator[tuple[datetime, datetime]]:
    """The whole calendar months inside the population's window, as (start, next start)."""
    first = population.start
    month = first.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if month < first:
        month = shift_months(month, 1)
    while (following := shift_months(month, 1)) <= population.end:
        yield month, following
        month = following


def monthly_logo_churn(
    population: Population, *, paying_only: bool = True, archetype: str | None = None
) -> float:
    """Cancellations per customer-month over the window's whole calendar months.

    A supplier is at risk in a month when it is active at the month's start, and churns in it
    when it is not active at the next month's start (the one rule of
    :mod:`wedsync_success.suppliers.subscriptions`); ``paying_only`` keeps suppliers whose
    (final) plan is not free.
    Returns 0.0 when no supplier-month is at risk.
    """
    at_risk = 0
    churned = 0
    members = [
        (supplier, truth)
        for supplier, truth in zip(population.suppliers, population.truth, strict=True)
        if (not paying_only or supplier.plan_tier != "free")
        and (archetype is None or truth.archetype == archetype)
    ]
    for month, following in month_starts(population):
        for supplier, truth in members:
            started, ended = supplier.subscription_started_at, truth.churned_at
            if not is_active_at(started_at=started, ended_at=ended, moment=month):
                continue
            at_risk += 1
            if not is_active_at(started_at=started, ended_at=ended, moment=following):
                churned += 1
    return churned / at_risk if at_risk else 0.0
