"""The public shapes of a synthetic population: suppliers, their users, events and ground truth.

Events are kept columnar (parallel numpy arrays) rather than as a million small objects: the
benchmarks and the demo loader stream them in slices, and ``EventColumns.records`` turns just
the requested slice into the dicts the ingestion API accepts.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from wedsync_success.synthetic.catalog import EVENT_TYPE_NAMES, properties

_CODE_OF_TYPE: dict[str, int] = {name: code for code, name in enumerate(EVENT_TYPE_NAMES)}


@dataclass(frozen=True)
class SyntheticUser:
    """A person who logs in on behalf of a supplier (role: owner, admin or assistant)."""

    id: uuid.UUID
    email: str
    name: str
    role: str


@dataclass(frozen=True)
class SyntheticSupplier:
    """A supplier's account as the platform would hold it at the end of the window."""

    id: uuid.UUID
    business_name: str
    vendor_type: str
    country: str
    signed_up_at: datetime
    plan_tier: str
    mrr_minor: int
    currency: str
    subscription_status: str
    subscription_started_at: datetime
    subscription_ended_at: datetime | None
    cancellation_reason: str | None
    users: tuple[SyntheticUser, ...]


@dataclass(frozen=True)
class GroundTruth:
    """What the simulation knows and the platform must infer: never copied into events."""

    supplier_id: uuid.UUID
    archetype: str
    latent_engagement: float
    """Latent engagement at signup, 0..1."""
    churned: bool
    churned_at: datetime | None


def _empty_detail() -> npt.NDArray[np.int32]:
    return np.zeros(0, dtype=np.int32)


@dataclass(frozen=True)
class EventColumns:
    """Columnar events (parallel numpy/sequence arrays), sorted by occurred_at."""

    event_id: list[str]
    supplier_index: npt.NDArray[np.int32]
    """Index into ``Population.suppliers``."""
    user_index: npt.NDArray[np.int32]
    """Index into that supplier's ``users``, or -1 for events no user caused."""
    event_type: npt.NDArray[np.object_]
    occurred_at: npt.NDArray[np.datetime64]
    """``datetime64[s]``, UTC."""
    amount_minor: npt.NDArray[np.int64]
    """Money amount of invoice_sent / payment_received / payment_failed, else 0."""
    detail_code: npt.NDArray[np.int32] = field(default_factory=_empty_detail)
    """Compact code of the event's properties (see ``catalog.properties``); may be empty."""

    def __len__(self) -> int:
        return len(self.event_id)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EventColumns):
            return NotImplemented
        return (
            self.event_id == other.event_id
            and np.array_equal(self.supplier_index, other.supplier_index)
            and np.array_equal(self.user_index, other.user_index)
            and np.array_equal(self.event_type, other.event_type)
            and np.array_equal(self.occurred_at, other.occurred_at)
            and np.array_equal(self.amount_minor, other.amount_minor)
            and np.array_equal(self.detail_code, other.detail_code)
        )

    def records(
        self, start: int, stop: int, suppliers: Sequence[SyntheticSupplier]
    ) -> list[dict[str, Any]]:
        """Events [start, stop) as API-shaped dicts.

        ``{"event_id", "supplier_id", "user_id", "type", "occurred_at", "properties"}``, with
        ids as strings, ``occurred_at`` as ISO-8601 with ``+00:00`` and properties such as
        ``{"amount", "currency"}`` for money events or ``{"feature"}`` for feature_used.
        """
        start, stop, _ = slice(start, stop).indices(len(self))
        supplier_rows: list[int] = self.supplier_index[start:stop].tolist()
        user_rows: list[int] = self.user_index[start:stop].tolist()
        types: list[str] = self.event_type[start:stop].tolist()
        seconds: list[int] = self.occurred_at[start:stop].astype(np.int64).tolist()
        amounts: list[int] = self.amount_minor[start:stop].tolist()
        details: list[int] = (
            self.detail_code[start:stop].tolist() if len(self.detail_code) else [0] * (stop - start)
        )
        codes = [_CODE_OF_TYPE.get(name, -1) for name in types]
        out: list[dict[str, Any]] = []
        for offset in range(stop - start):
            supplier = suppliers[supplier_rows[offset]]
            user = user_rows[offset]
            out.append(
                {
                    "event_id": self.event_id[start + offset],
                    "supplier_id": str(supplier.id),
                    "user_id": str(supplier.users[user].id) if user >= 0 else None,
                    "type": types[offset],
                    "occurred_at": datetime.fromtimestamp(seconds[offset], UTC).isoformat(),
                    "properties": properties(
                        codes[offset], details[offset], amounts[offset], supplier.currency
                    ),
                }
            )
        return out


@dataclass(frozen=True)
class Population:
    """A generated world: suppliers, their events over ``[start, end)`` and the hidden truth."""

    suppliers: list[SyntheticSupplier]
    events: EventColumns
    truth: list[GroundTruth]
    """Same order as ``suppliers``."""
    start: datetime
    end: datetime
