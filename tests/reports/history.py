"""Small hand-made subscription histories for the history reports' golden tests: suppliers
and periods written straight to the tables, so each test knows every number it expects."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert

from wedsync_success.context import AppContext
from wedsync_success.suppliers.coverage import refresh_coverage
from wedsync_success.suppliers.models import SubscriptionPeriod, Supplier

NOW = datetime(2026, 6, 15, tzinfo=UTC)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def supplier_row(
    signed_up: str,
    *,
    ended: str | None = None,
    mrr: int = 1000,
    currency: str = "GBP",
    **fields: Any,
) -> dict[str, Any]:
    """A supplier whose row holds its only subscription ``[signed_up, ended)``."""
    return {
        "id": uuid.uuid4(),
        "business_name": f"Supplier {uuid.uuid4().hex[:6]}",
        "vendor_type": "florist",
        "country": "GB",
        "signed_up_at": at(signed_up),
        "plan_tier": "starter",
        "mrr_minor": mrr,
        "currency": currency,
        "subscription_status": "cancelled" if ended else "active",
        "subscription_started_at": at(signed_up),
        "subscription_ended_at": at(ended) if ended else None,
        "created_at": NOW,
    } | fields


def period_row(
    supplier: dict[str, Any],
    start: str,
    end: str | None,
    *,
    mrr: int = 1000,
    plan: str = "starter",
    currency: str = "GBP",
    discount: int = 0,
) -> dict[str, Any]:
    return {
        "supplier_id": supplier["id"],
        "plan": plan,
        "starts_at": at(start),
        "ends_at": at(end) if end else None,
        "mrr_minor": mrr,
        "currency": currency,
        "quantity": 1,
        "discount_minor": discount,
        "bill_period_months": 1,
        "created_at": NOW,
    }


async def store(
    ctx: AppContext, suppliers: list[dict[str, Any]], periods: Sequence[dict[str, Any]] = ()
) -> None:
    async with ctx.db.transaction() as session:
        await session.execute(insert(Supplier), suppliers)
        if periods:
            await session.execute(insert(SubscriptionPeriod), list(periods))
            await refresh_coverage(session=session, supplier_ids=None)
