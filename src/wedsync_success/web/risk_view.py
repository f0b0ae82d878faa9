"""The suppliers list's view of risk: both scores side by side, the churn filters and sorts,
and the sentence that says which to trust for what.

Kept apart from ``dashboard.py`` so the list page only gains a few lines: parsing the churn
filters of the form, and what the template needs to label the two columns and the priority.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.churn import repository as churn_repository
from wedsync_success.context import AppContext
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.suppliers.repository import SupplierFilters
from wedsync_success.suppliers.service import left_out_of_priority

CHURN_BANDS = ("high", "medium", "low")

SORT_LABELS: dict[str, str] = {
    "priority": "Priority: expected MRR lost",
    "-churn_probability": "Churn probability, highest first",
    "churn_probability": "Churn probability, lowest first",
    "score": "Health score, lowest first",
    "-score": "Health score, highest first",
    "change_7d": "Health, steepest 7-day decline",
    "name": "Name",
}
"""Every sort of the list, as the sort menu names it (the default first)."""

PRIORITY_MEANING = (
    "Expected MRR lost = the churn model's probability of leaving within its horizon × the "
    "supplier's monthly recurring revenue, converted to {currency}: who to call first."
)


async def any_current(session: AsyncSession) -> bool:
    """Whether the churn model has scored anyone yet (the priority order needs it)."""
    return await churn_repository.any_current(session)


def _percent(value: str | None, field: str) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number <= 100:
        raise ValidationFailed(
            f"{field} must be a percentage from 0 to 100",
            details=[{"field": field, "reason": "not a number from 0 to 100"}],
        )
    return number / 100


def churn_filters(band: str | None, low: str | None, high: str | None) -> dict[str, Any]:
    """The churn filters of the list's form (band; probability range in percent) as
    :class:`SupplierFilters` fields; a bad value names its field."""
    if band and band not in CHURN_BANDS:
        raise ValidationFailed(
            f"churn_band: {band!r} is not one of {', '.join(CHURN_BANDS)}",
            details=[{"field": "churn_band", "reason": "unknown value"}],
        )
    return {
        "churn_band": band or None,
        "churn_min": _percent(low, "churn_min"),
        "churn_max": _percent(high, "churn_max"),
    }


async def risk_view(
    *, ctx: AppContext, session: AsyncSession, filters: SupplierFilters, sort: str
) -> dict[str, Any]:
    """What ``suppliers.html`` needs for the churn columns, filters, sorts and notes."""
    rates = ctx.settings.rates
    unpriced: dict[str, int] = {}
    if sort == "priority":
        unpriced = await left_out_of_priority(session=session, current_only=filters.current_only)
    return {
        "sort_labels": SORT_LABELS,
        "churn_bands": CHURN_BANDS,
        "churn_band": filters.churn_band,
        "churn_min": None if filters.churn_min is None else round(filters.churn_min * 100, 4),
        "churn_max": None if filters.churn_max is None else round(filters.churn_max * 100, 4),
        "currency": rates.reporting,
        "rates": rates.describe(),
        "priority_meaning": PRIORITY_MEANING.format(currency=rates.reporting),
        "unpriced": unpriced,
    }
