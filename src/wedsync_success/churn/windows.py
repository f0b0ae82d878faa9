"""What the churn features count over the rollups: the windows, as plain definitions.

Shared by the point-in-time feature query (``features``), the feature store that maintains
the same aggregates on ingest (``feature_store``) and its table (``models``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from wedsync_success.activity.roles import EventRoles, Role, current_roles

LOOKBACK_DAYS = 180
"""The longest window read from the rollups; older activity never counts."""

ROLES: EventRoles = current_roles()
"""The event roles in force (``defaults/event_roles.yaml`` or ``$WEDSYNC_EVENT_ROLES_CONFIG``)."""
LOGIN: tuple[str, ...] = ROLES.types(Role.LOGIN)
KEY_ACTIONS: tuple[str, ...] = ROLES.types(Role.KEY_ACTION)
"""What a supplier does in the app (as opposed to what couples and automations do)."""
ADOPTION: tuple[str, ...] = ROLES.types(Role.CORE_FEATURE)
"""The core product areas; breadth is how many of them were used in a window."""
CORE_FEATURE_SLOTS: tuple[str, ...] = (
    "form_created",
    "form_submitted",
    "client_added",
    "journey_started",
    "journey_completed",
    "message_sent",
    "invoice_sent",
    "feature_used",
)
"""Names of the feature store's breadth columns, one slot per core feature (WedSync's
defaults, so the table keeps its columns whatever the roles map: slot ``i`` counts the
``i``-th core feature of the roles)."""
CLIENTS = ROLES.types(Role.CLIENT_ADDED)
JOURNEYS = ROLES.types(Role.CLIENT_JOURNEY)
ENQUIRIES = ROLES.types(Role.ENQUIRY)
INVOICES = ROLES.types(Role.INVOICE)
PAYMENT_FAILED = ROLES.types(Role.BILLING_FAILURE)
TICKETS = ROLES.types(Role.SUPPORT)
REFERRALS = (*ROLES.types(Role.REFERRAL), *ROLES.types(Role.REFERRAL_CONVERSION))


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
    RollupAggregate("clients_30d", CLIENTS, 30),
    RollupAggregate("clients_90d", CLIENTS, 90),
    RollupAggregate("clients_180d", CLIENTS, 180),
    RollupAggregate("journeys_90d", JOURNEYS, 90),
    RollupAggregate("enquiries_30d", ENQUIRIES, 30),
    RollupAggregate("invoices_90d", INVOICES, 90),
    RollupAggregate("payments_failed_30d", PAYMENT_FAILED, 30),
    RollupAggregate("payments_failed_90d", PAYMENT_FAILED, 90),
    RollupAggregate("tickets_30d", TICKETS, 30),
    RollupAggregate("tickets_90d", TICKETS, 90),
    RollupAggregate("referrals_180d", REFERRALS, 180),
    RollupAggregate("last_login", LOGIN, LOOKBACK_DAYS, kind="last"),
    RollupAggregate("last_key_action", KEY_ACTIONS, LOOKBACK_DAYS, kind="last"),
    RollupAggregate("last_payment_failed", PAYMENT_FAILED, LOOKBACK_DAYS, kind="last"),
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
                StoredWindow(f"{a.name}__{slot}", a.name, (t,) if t else (), a.end, a.start, "sum")
                # A slot without a core feature keeps its column, always 0.
                for slot, t in itertools.zip_longest(
                    CORE_FEATURE_SLOTS, a.types[: len(CORE_FEATURE_SLOTS)]
                )
            )
        else:
            windows.append(StoredWindow(a.name, a.name, a.types, a.end, a.start, a.kind))
    return tuple(windows)


STORED_WINDOWS: tuple[StoredWindow, ...] = _stored_windows()
