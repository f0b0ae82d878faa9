"""Summary statistics of a population, for calibrating the generator and checking its realism.

The generator's parameters are tuned so that these land where real subscription businesses
sit (a few percent monthly logo churn); tests and benchmarks read them from here rather than
each re-deriving them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

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

    A supplier is at risk in a month when it signed up before the month began and had not
    cancelled by then; ``paying_only`` keeps suppliers whose (final) plan is not free.
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
            if supplier.signed_up_at >= month:
                continue
            if truth.churned_at is not None and truth.churned_at < month:
                continue
            at_risk += 1
            if truth.churned_at is not None and truth.churned_at < following:
                churned += 1
    return churned / at_risk if at_risk else 0.0
