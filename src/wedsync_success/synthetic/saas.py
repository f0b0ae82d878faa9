"""A product that is not WedSync: a seeded project-management SaaS with its own event names.

The churn model must learn from whatever a product emits. This generator makes accounts
of a made-up project tool whose events (``task_created``, ``comment_posted``,
``board_shared``, ...) share no name with WedSync's, and whose churn is driven by a decline
of *some* event types in the weeks before an account leaves: collaboration (comments,
shares, invites, completed tasks) fades while task creation goes on. Tenure matters a
little (new accounts leave more often), so "tenure alone" is a weak but real baseline.

It yields daily rollups directly (one row per account, day and type with events), the
table every churn feature reads, plus the accounts as supplier items; :func:`load` writes
both. Everything is NumPy over an (accounts x days x types) array of Poisson counts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity.models import DailyRollup, SupplierEventTotal
from wedsync_success.suppliers.service import upsert_batch

EVENT_TYPES: tuple[str, ...] = (
    "task_created",
    "task_completed",
    "comment_posted",
    "board_shared",
    "file_uploaded",
    "invite_sent",
    "report_exported",
)
BASE_RATES: tuple[float, ...] = (0.9, 0.7, 0.6, 0.08, 0.25, 0.04, 0.05)
"""Mean events a day of an average account, per type."""
FADING: frozenset[str] = frozenset(
    {"task_completed", "comment_posted", "board_shared", "invite_sent"}
)
"""The types that fade before an account leaves."""
DECLINE_DAYS = 60
FADED_TO = 0.15
"""At the end of the decline, fading types run at this share of their usual rate."""


@dataclass(frozen=True)
class SaasProduct:
    """Accounts and their daily rollups (indexes into ``account_ids`` and ``EVENT_TYPES``)."""

    account_ids: list[uuid.UUID]
    signed_up: list[datetime]
    ended: list[datetime | None]
    first_day: date
    account: npt.NDArray[np.intp]
    day: npt.NDArray[np.intp]
    """Days after ``first_day``."""
    event_type: npt.NDArray[np.intp]
    count: npt.NDArray[np.int64]

    @property
    def rollup_rows(self) -> int:
        return int(self.count.size)


def generate_saas(*, accounts: int, days: int, end: date, seed: int) -> SaasProduct:
    """``accounts`` accounts over the ``days`` days before ``end`` (exclusive), seeded."""
    rng = np.random.default_rng(seed)
    first_day = end - timedelta(days=days)
    n_types = len(EVENT_TYPES)
    signup = rng.integers(0, max(days - 150, 1), size=accounts)
    # Lifetimes: most accounts stay long, one in five is a short-lived trial-like account.
    short = rng.random(accounts) < 0.2
    life = np.where(short, rng.exponential(70, accounts), rng.exponential(420, accounts))
    churn_day = signup + np.maximum(life.astype(np.int64), 14)
    churned = churn_day < days
    engagement = rng.normal(0.0, 0.5, accounts)
    taste = rng.normal(0.0, 0.4, (accounts, n_types))
    rates = np.asarray(BASE_RATES)[None, :] * np.exp(engagement[:, None] + taste)
    t = np.arange(days)[None, :]
    alive = (t >= signup[:, None]) & (t < np.where(churned, churn_day, days)[:, None])
    # The decline: a ramp from 1 to FADED_TO over the DECLINE_DAYS before the churn day.
    to_end = (churn_day[:, None] - t).astype(np.float64)
    ramp = np.clip(to_end / DECLINE_DAYS, 0.0, 1.0)
    fade = np.where(churned[:, None], FADED_TO + (1.0 - FADED_TO) * ramp, 1.0)
    # Everyone has quiet spells (holidays, busy months) that look like a decline but are not.
    quiet = rng.random((accounts, days // 30 + 1)) < 0.12
    spell = np.where(np.repeat(quiet, 30, axis=1)[:, :days], 0.45, 1.0)
    fading = np.asarray([e in FADING for e in EVENT_TYPES])
    multiplier = np.where(fading[None, None, :], fade[:, :, None], 0.85 + 0.15 * fade[:, :, None])
    lam = rates[:, None, :] * multiplier * spell[:, :, None] * alive[:, :, None]
    counts = rng.poisson(lam)
    acc, day, typ = np.nonzero(counts)
    start = datetime.combine(first_day, time(), tzinfo=UTC)
    seconds = rng.integers(0, 86_400, accounts)
    signed_up = [
        start + timedelta(days=int(d), seconds=int(s)) for d, s in zip(signup, seconds, strict=True)
    ]
    ended = [
        start + timedelta(days=int(c), seconds=int(s)) if ch else None
        for c, s, ch in zip(churn_day, seconds, churned, strict=True)
    ]
    ids = [uuid.UUID(int=int(rng.integers(0, 2**62)) << 64 | i) for i in range(accounts)]
    return SaasProduct(
        account_ids=ids,
        signed_up=signed_up,
        ended=ended,
        first_day=first_day,
        account=acc.astype(np.intp),
        day=day.astype(np.intp),
        event_type=typ.astype(np.intp),
        count=counts[acc, day, typ].astype(np.int64),
    )


def supplier_items(product: SaasProduct) -> list[dict[str, Any]]:
    """The accounts as supplier items (the supplier API's shape)."""
    return [
        {
            "id": str(i),
            "business_name": f"Project team {n + 1}",
            "vendor_type": "planner",
            "country": "GB",
            "signed_up_at": s.isoformat(),
            "plan_tier": "starter",
            "mrr_minor": 2900,
            "currency": "GBP",
            "subscription_status": "cancelled" if e else "active",
            "subscription_started_at": s.isoformat(),
            "subscription_ended_at": e.isoformat() if e else None,
        }
        for n, (i, s, e) in enumerate(
            zip(product.account_ids, product.signed_up, product.ended, strict=True)
        )
    ]


def _rollup_dicts(product: SaasProduct, rows: npt.NDArray[np.intp]) -> list[dict[str, Any]]:
    return [
        {
            "supplier_id": product.account_ids[product.account[r]],
            "day": product.first_day + timedelta(days=int(product.day[r])),
            "event_type": EVENT_TYPES[product.event_type[r]],
            "count": int(product.count[r]),
            "value_sum": 0,
        }
        for r in rows
    ]


async def load(session: AsyncSession, product: SaasProduct, *, now: datetime) -> None:
    """Write the accounts (through the suppliers service) and their rollups and totals."""
    items = supplier_items(product)
    for start in range(0, len(items), 1000):
        await upsert_batch(session=session, items=items[start : start + 1000], now=now)
    order = np.arange(product.rollup_rows, dtype=np.intp)
    for start in range(0, order.size, 20_000):
        await session.execute(
            insert(DailyRollup), _rollup_dicts(product, order[start : start + 20_000])
        )
    key = product.account * len(EVENT_TYPES) + product.event_type
    unique, first = np.unique(key, return_index=True)
    totals = np.bincount(key, weights=product.count, minlength=0)
    last_day = np.zeros(int(key.max()) + 1 if key.size else 0, dtype=np.intp)
    np.maximum.at(last_day, key, product.day)
    start_at = datetime.combine(product.first_day, time(), tzinfo=UTC)
    rows = [
        {
            "supplier_id": product.account_ids[k // len(EVENT_TYPES)],
            "event_type": EVENT_TYPES[k % len(EVENT_TYPES)],
            "count": int(totals[k]),
            "value_sum": 0,
            "first_at": start_at + timedelta(days=int(product.day[f])),
            "last_at": start_at + timedelta(days=int(last_day[k]), hours=12),
        }
        for k, f in zip(unique.tolist(), first.tolist(), strict=True)
    ]
    for start in range(0, len(rows), 20_000):
        await session.execute(insert(SupplierEventTotal), rows[start : start + 20_000])
