"""Small subscription histories written straight into the tables, for the report tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from wedsync_success.context import AppContext
from wedsync_success.suppliers.coverage import refresh_coverage
from wedsync_success.suppliers.models import SubscriptionPeriod, Supplier

CREATED = datetime(2025, 1, 1, tzinfo=UTC)


def day(year: int, month: int, d: int = 1) -> datetime:
    return datetime(year, month, d, tzinfo=UTC)


@dataclass(frozen=True)
class P:
    """One period: plan, [start, end), MRR, currency, discount."""

    plan: str
    start: datetime
    end: datetime | None
    mrr: int
    currency: str = "GBP"
    discount: int = 0


@dataclass(frozen=True)
class Row:
    """A supplier with no history: its row's subscription only."""

    start: datetime
    end: datetime | None
    mrr: int
    currency: str = "GBP"


def supplier_row(name: str, row: Row | None = None) -> Supplier:
    started = row.start if row else CREATED
    return Supplier(
        id=uuid.uuid4(),
        business_name=name,
        vendor_type="florist",
        country="GB",
        signed_up_at=started,
        plan_tier="professional",
        mrr_minor=row.mrr if row else 0,
        currency=row.currency if row else "GBP",
        subscription_status="cancelled" if row and row.end else "active",
        subscription_started_at=started,
        subscription_ended_at=row.end if row else None,
        created_at=CREATED,
    )


async def store(ctx: AppContext, histories: dict[str, Sequence[P] | Row]) -> dict[str, uuid.UUID]:
    """Write each named supplier and its periods (or only its row); their ids by name."""
    ids = {}
    async with ctx.db.transaction() as session:
        for name, history in histories.items():
            supplier = supplier_row(name, history if isinstance(history, Row) else None)
            session.add(supplier)
            await session.flush()
            ids[name] = supplier.id
            if isinstance(history, Row):
                continue
            session.add_all(
                SubscriptionPeriod(
                    supplier_id=supplier.id,
                    plan=p.plan,
                    starts_at=p.start,
                    ends_at=p.end,
                    mrr_minor=p.mrr,
                    currency=p.currency,
                    discount_minor=p.discount,
                    created_at=CREATED,
                )
                for p in history
            )
        await session.flush()
        await refresh_coverage(session=session, supplier_ids=list(ids.values()))
    return ids
