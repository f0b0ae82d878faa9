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

from wedsync_success.suppliers.subscriptions import running_at_seconds
from wedsync_success.synthetic.catalog import EVENT_TYPE_NAMES, properties

_CODE_OF_TYPE: dict[str, int] = {name: code for code, name in enumerate(EVENT_TYPE_NAMES)}
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
DAY = 86_400


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
    acquisition_channel: str | None = None


@dataclass(frozen=True)
class GroundTruth:
    """What the simulation knows and the platform must infer: never copied into events."""

    supplier_id: uuid.UUID
    archetype: str
    latent_engagement: float
    """Latent engagement at signup, 0..1."""
    churned: bool
    churned_at: datetime | None


def _empty_detail() -> npt.NDArray[np.int64]:
    return np.zeros(0, dtype=np.int64)


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
    detail_code: npt.NDArray[np.int64] = field(default_factory=_empty_detail)
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
        # a converted referral names its referee by row: the ids, only when one is here
        supplier_ids = [s.id for s in suppliers] if "referral_converted" in types else []
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
                        codes[offset],
                        details[offset],
                        amounts[offset],
                        supplier.currency,
                        supplier_ids,
                    ),
                }
            )
        return out


def _arrays_equal(a: object, b: object) -> bool:
    """Field-by-field equality of two dataclasses whose fields may be numpy arrays."""
    fields = vars(a)
    return all(
        np.array_equal(value, vars(b)[name])
        if isinstance(value, np.ndarray)
        else value == vars(b)[name]
        for name, value in fields.items()
    )


@dataclass(frozen=True, eq=False)
class OutreachColumns:
    """The simulated playbook's runs and the messages of its treated runs, as columns.

    Times are epoch seconds; ``NEVER`` (``profiles.NEVER``) marks "did not happen" (a run
    still active, a message never opened). Ids are drawn from the seed, like the suppliers'.
    """

    playbook_key: str
    goal_group: str
    run_id: list[uuid.UUID]
    supplier_index: IntArray
    """Index into ``Population.suppliers``."""
    control: BoolArray
    status: npt.NDArray[np.object_]
    enrolled_sec: IntArray
    ended_sec: IntArray
    mrr_minor: IntArray
    """At enrolment, in the supplier's currency."""
    message_id: list[uuid.UUID]
    message_run: IntArray
    """Index into the runs."""
    message_step: IntArray
    message_channel: npt.NDArray[np.object_]
    sent_sec: IntArray
    opened_sec: IntArray
    clicked_sec: IntArray

    def __len__(self) -> int:
        return len(self.run_id)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OutreachColumns):
            return NotImplemented
        return _arrays_equal(self, other)


@dataclass(frozen=True, eq=False)
class OutreachTruth:
    """Both potential outcomes of every run: when its supplier leaves with and without the
    playbook's outreach (``NEVER``: stays), resolved on the same random numbers."""

    enrolled_sec: IntArray
    leave_if_treated: IntArray
    leave_if_untreated: IntArray
    never: int
    """The "did not happen" time of the columns."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OutreachTruth):
            return NotImplemented
        return _arrays_equal(self, other)

    def retention_difference(self, *, days: int, as_of: datetime) -> float | None:
        """True retention with outreach minus without it, ``days`` after enrolment, over the
        runs enrolled at least that long before ``as_of`` (``None`` if there are none)."""
        moment = (self.enrolled_sec + days * DAY).astype(np.float64)
        observed = moment <= as_of.timestamp()
        if not observed.any():
            return None

        def kept(leave: IntArray) -> BoolArray:
            ends = np.where(leave >= self.never, np.nan, leave.astype(np.float64))
            return running_at_seconds(ends[observed], moment[observed])

        treated, untreated = kept(self.leave_if_treated), kept(self.leave_if_untreated)
        return float(treated.mean() - untreated.mean())


@dataclass(frozen=True)
class Population:
    """A generated world: suppliers, their events over ``[start, end)`` and the hidden truth."""

    suppliers: list[SyntheticSupplier]
    events: EventColumns
    truth: list[GroundTruth]
    """Same order as ``suppliers``."""
    start: datetime
    end: datetime
    outreach: OutreachColumns
    outreach_truth: OutreachTruth
