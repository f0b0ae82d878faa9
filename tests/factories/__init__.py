"""Factories for suppliers and events, as the API receives them."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Any

_counter = itertools.count(1)


def supplier(**overrides: Any) -> dict[str, Any]:
    n = next(_counter)
    data: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "business_name": f"Bloom & Vow Florals {n}",
        "vendor_type": "florist",
        "country": "GB",
        "signed_up_at": "2026-01-10T09:00:00+00:00",
        "plan_tier": "professional",
        "mrr_minor": 4900,
        "currency": "GBP",
        "subscription_status": "active",
        "users": [{"email": f"owner{n}@bloomandvow.example", "name": "Ada Fern"}],
    }
    data.update(overrides)
    return data


def event(supplier_id: str, type: str, occurred_at: datetime, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "event_id": f"evt-{uuid.uuid4()}",
        "supplier_id": supplier_id,
        "type": type,
        "occurred_at": occurred_at.isoformat(),
        "properties": {},
    }
    data.update(overrides)
    return data
