"""What the churn features count over the rollups: the windows, as plain definitions.

Shared by the point-in-time feature query (``features``), the feature store that maintains
the same aggregates on ingest (``feature_store``) and its table (``models``).
"""

from __future__ import annotations

from dataclasses import dataclass

LOOKBACK_DAYS = 180
"""The longest window read from the rollups; older activity never counts."""

LOGIN: tuple[str, ...] = ("login",)
KEY_ACTIONS: tuple[str, ...] = (
    "client_added",
    "journey_started",
    "invoice_sent",
    "message_sent",
    "form_created",
    "feature_used",
)
"""What a supplier does in the app (as opposed to what couples and automations do)."""
ADOPTION: tuple[str, ...] = (
    "form_created",
    "form_submitted",
    "client_added",
    "journey_started",
    "journey_completed",
    "message_sent",
    "invoice_sent",
    "feature_used",
)
"""The core product areas; breadth is how many of them were used in a window."""


@dataclass(frozen=True)
class RollupAggregate:
    """One aggregate over rollup rows of ``types`` with ``day`` in ``(as_of-end, as_of-start]``."""

    name: str
    types: tuple[str, ...]
    end: int
    start: int = 0
    kind: str = "sum"
    """``sum`` of counts, ``days`` (distinct days), ``types`` (distinct types), ``last`` day."""


ROLLUP_AGGREGATES: tuple[RollupAggregate, ...] = (
    RollupAggregate("logins_7d", LOGIN, 7),
    RollupAggregate("logins_30d", LOGIN, 30),
    RollupAggregate("logins_90d", LOGIN, 90),
    RollupAggregate("login_days_7d", LOGIN, 7, kind="days"),
    RollupAggregate("login_days_30d", LOGIN, 30, kind="days"),
    RollupAggregate("login_days_90d", LOGIN, 90, kind="days"),
    RollupAggregate("login_days_prev_30d", LOGIN, 60, start=30, kind="days"),
    RollupAggregate("key_actions_7d", KEY_ACTIONS, 7),
    RollupAggregate("key_actions_30d", KEY_ACTIONS, 30),
    RollupAggregate("key_actions_90d", KEY_ACTIONS, 90),
    RollupAggregate("adoption_breadth_30d", ADOPTION, 30, kind="types"),
    RollupAggregate("adoption_breadth_90d", ADOPTION, 90, kind="types"),
    RollupAggregate("clients_30d", ("client_added",), 30),
    RollupAggregate("clients_90d", ("client_added",), 90),
    RollupAggregate("clients_180d", ("client_added",), 180),
    RollupAggregate("journeys_90d", ("journey_started", "journey_completed"), 90),
    RollupAggregate("enquiries_30d", ("form_submitted",), 30),
    RollupAggregate("invoices_90d", ("invoice_sent",), 90),
    RollupAggregate("payments_failed_30d", ("payment_failed",), 30),
    RollupAggregate("payments_failed_90d", ("payment_failed",), 90),
    RollupAggregate("tickets_30d", ("support_ticket_opened",), 30),
    RollupAggregate("tickets_90d", ("support_ticket_opened",), 90),
    RollupAggregate("referrals_180d", ("referral_sent", "referral_converted"), 180),
    RollupAggregate("last_login", LOGIN, LOOKBACK_DAYS, kind="last"),
    RollupAggregate("last_key_action", KEY_ACTIONS, LOOKBACK_DAYS, kind="last"),
    RollupAggregate("last_payment_failed", ("payment_failed",), LOOKBACK_DAYS, kind="last"),
)
INTERNAL_AGGREGATES = frozenset({"last_login", "last_key_action", "last_payment_failed"})
"""Aggregates only used to derive other features (days since ...), not features themselves."""


@dataclass(frozen=True)
class StoredWindow:
    """One column of the feature store (``churn_activity_windows``), kept up to date on ingest.

    Every aggregate is stored as itself except "distinct types used", which cannot be
    maintained by adding and subtracting: it is stored as one count per type, and the
    breadth is the number of non-zero ones. A ``last`` column keeps the last active day on
    or before the store's day without the look-back bound, which is applied on read.
    """

    column: str
    aggregate: str
    types: tuple[str, ...]
    end: int
    start: int
    kind: str
    """``sum`` of counts, ``days`` (rollup rows, one per active day) or ``last`` day."""


def _stored_windows() -> tuple[StoredWindow, ...]:
    windows: list[StoredWindow] = []
    for a in ROLLUP_AGGREGATES:
        if a.kind == "types":
            windows.extend(
                StoredWindow(f"{a.name}__{t}", a.name, (t,), a.end, a.start, "sum") for t in a.types
            )
        else:
            windows.append(StoredWindow(a.name, a.name, a.types, a.end, a.start, a.kind))
    return tuple(windows)


STORED_WINDOWS: tuple[StoredWindow, ...] = _stored_windows()
