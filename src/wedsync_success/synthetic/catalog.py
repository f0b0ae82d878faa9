"""The fixed vocabularies of the simulated world: event codes, property values and prices.

Events are generated as small integer codes (an event type plus a ``detail`` code) so that
millions of them fit in compact numpy arrays; this module is the single place that turns
those codes back into the strings and property dicts the platform's API expects.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

VENDOR_TYPES: tuple[str, ...] = (
    "photographer",
    "videographer",
    "venue",
    "florist",
    "planner",
    "caterer",
    "band_dj",
    "cake",
    "hair_makeup",
    "stationery",
    "other",
)
"""Supplier categories, matching ``suppliers.models.VendorType``."""

VENDOR_SHARES: tuple[float, ...] = (
    0.22,
    0.07,
    0.12,
    0.09,
    0.10,
    0.06,
    0.08,
    0.06,
    0.09,
    0.05,
    0.06,
)

COUNTRIES: tuple[str, ...] = ("GB", "IE", "US", "AU", "FR", "ES", "IT")
COUNTRY_SHARES: tuple[float, ...] = (0.70, 0.06, 0.08, 0.06, 0.04, 0.03, 0.03)

CURRENCIES: tuple[str, ...] = ("GBP", "EUR", "USD", "AUD")
COUNTRY_CURRENCY: tuple[int, ...] = (0, 1, 2, 3, 1, 1, 1)
"""Index into ``CURRENCIES`` for each entry of ``COUNTRIES``."""

COUNTRY_UTC_OFFSET_HOURS: tuple[int, ...] = (0, 0, -5, 10, 1, 1, 1)
"""Standard-time offsets; people work local hours, so event times shift by these."""

SOUTHERN_HEMISPHERE: tuple[bool, ...] = (False, False, False, True, False, False, False)
"""Australian wedding seasons run half a year out of step with European ones."""

PLAN_TIERS: tuple[str, ...] = ("free", "starter", "professional", "scale")
FREE, STARTER, PROFESSIONAL, SCALE = range(4)

PRICE_MINOR: tuple[tuple[int, int, int, int], ...] = (
    (0, 1900, 4900, 9900),  # GBP
    (0, 2200, 5500, 11500),  # EUR
    (0, 2400, 5900, 12500),  # USD
    (0, 3500, 8900, 17900),  # AUD
)
"""Monthly price of each tier in minor units, per currency (rows follow ``CURRENCIES``)."""

CURRENCY_VALUE: tuple[float, ...] = (1.0, 1.15, 1.3, 1.95)
"""How many units of each currency buy what one pound does, for client invoice sizes."""

VENDOR_INVOICE_MEDIAN_PENCE: tuple[int, ...] = (
    160000,  # photographer
    180000,  # videographer
    600000,  # venue
    90000,  # florist
    250000,  # planner
    450000,  # caterer
    80000,  # band_dj
    40000,  # cake
    50000,  # hair_makeup
    35000,  # stationery
    60000,  # other
)
"""Typical client invoice (deposit or balance) by vendor type, in pence."""


class EventCode(enum.IntEnum):
    """Every event type the generator emits; the string type is the lower-cased name."""

    LOGIN = 0
    FORM_CREATED = 1
    FORM_SUBMITTED = 2
    CLIENT_ADDED = 3
    JOURNEY_STARTED = 4
    JOURNEY_COMPLETED = 5
    MESSAGE_SENT = 6
    INVOICE_SENT = 7
    PAYMENT_RECEIVED = 8
    PAYMENT_FAILED = 9
    SUPPORT_TICKET_OPENED = 10
    SUPPORT_TICKET_CLOSED = 11
    FEATURE_USED = 12
    REFERRAL_SENT = 13
    REFERRAL_CONVERTED = 14
    PROFILE_COMPLETED = 15
    SUBSCRIPTION_CHANGED = 16
    SUBSCRIPTION_CANCELLED = 17
    CALENDAR_SYNCED = 18
    """Not a type the platform knows: real clients send such types and they must be stored."""


EVENT_TYPE_NAMES: tuple[str, ...] = tuple(code.name.lower() for code in EventCode)
UNKNOWN_EVENT_TYPES: frozenset[str] = frozenset({"calendar_synced"})

FEATURES: tuple[str, ...] = (
    "questionnaires",
    "client_portal",
    "automated_reminders",
    "contracts_esign",
    "timeline_builder",
    "payment_links",
    "calendar",
    "gallery_delivery",
    "review_requests",
    "mood_boards",
    "seating_planner",
    "reports",
)
CANCELLATION_REASONS: tuple[str, ...] = (
    "too expensive",
    "not using it enough",
    "switched to competitor",
    "closed business",
    "seasonal pause",
    "missing features",
)
TOO_EXPENSIVE, NOT_USING, SWITCHED, CLOSED, SEASONAL, MISSING_FEATURES = range(6)

ACQUISITION_CHANNELS: tuple[str, ...] = (
    "organic_search",
    "referral",
    "paid_search",
    "paid_social",
    "wedding_fair",
    "partner",
)
CHANNEL_WEIGHTS: dict[str, tuple[float, ...]] = {
    # Per archetype, in ACQUISITION_CHANNELS order: referred and fair-met suppliers are more
    # often the engaged kinds, paid social brings more who never get going - so cohorts and
    # LTV by channel differ the way they do in a real funnel.
    "thriving": (0.30, 0.30, 0.15, 0.05, 0.12, 0.08),
    "steady": (0.34, 0.20, 0.18, 0.10, 0.10, 0.08),
    "slow_starter": (0.32, 0.14, 0.20, 0.16, 0.10, 0.08),
    "declining": (0.30, 0.10, 0.22, 0.24, 0.06, 0.08),
    "dormant": (0.24, 0.06, 0.24, 0.36, 0.04, 0.06),
}
"""How each archetype's suppliers found WedSync (weights sum to 1)."""

DEVICES: tuple[str, ...] = ("desktop", "mobile", "tablet")
FORM_TYPES: tuple[str, ...] = ("enquiry", "questionnaire", "booking", "feedback")
CLIENT_SOURCES: tuple[str, ...] = ("enquiry_form", "manual", "import", "referral")
JOURNEYS: tuple[str, ...] = (
    "enquiry_follow_up",
    "booking_welcome",
    "wedding_countdown",
    "post_wedding_review",
)
MESSAGE_CHANNELS: tuple[str, ...] = ("email", "client_portal", "sms")
TICKET_CATEGORIES: tuple[str, ...] = ("how_to", "billing", "bug", "account", "feature_request")
BILLING_TICKET = 1
REFERRAL_CHANNELS: tuple[str, ...] = ("link", "email", "in_person")
CALENDAR_PROVIDERS: tuple[str, ...] = ("google", "outlook", "apple")
PAYMENT_KINDS: tuple[str, ...] = ("subscription", "client_invoice")
SUBSCRIPTION_PAYMENT, CLIENT_PAYMENT = range(2)
TICKET_CATEGORY_BITS = 3
"""Ticket details pack ``ticket_number << 3 | category`` so opened and closed pair up."""


REFERRAL_TOKENS = 1 << 26
"""A referral's detail: its channel (2 bits), the invitee's token (26 bits) and, for a
conversion, the referee's supplier row + 1 above them (0: none named)."""
_REFEREE_UNIT = 4 * REFERRAL_TOKENS


def referral_detail(channel: IntArray, token: IntArray) -> IntArray:
    """The detail of a referral: its channel and the invitee's token (1 to 2^26 - 1)."""
    return channel + 4 * token


def with_referee(detail: IntArray, row: IntArray) -> IntArray:
    """A conversion's detail naming the supplier (its row) that signed up."""
    return detail + _REFEREE_UNIT * (row + 1)


def _referral(detail: int, supplier_ids: Sequence[uuid.UUID]) -> dict[str, Any]:
    out: dict[str, Any] = {"channel": REFERRAL_CHANNELS[detail % 4]}
    token, referee = (detail >> 2) % REFERRAL_TOKENS, detail // _REFEREE_UNIT - 1
    if token:
        out["referred"] = f"invite-{token}@referrals.example"
    if 0 <= referee < len(supplier_ids):
        out["referred_supplier_id"] = str(supplier_ids[referee])
    return out


def properties(
    code: int,
    detail: int,
    amount: int,
    currency: str,
    supplier_ids: Sequence[uuid.UUID] = (),
) -> dict[str, Any]:
    """The API ``properties`` dict of one event, rebuilt from its compact codes
    (``supplier_ids``: the population's, which a converted referral names one of)."""
    match code:
        case EventCode.LOGIN:
            return {"device": DEVICES[detail]}
        case EventCode.FORM_CREATED | EventCode.FORM_SUBMITTED:
            return {"form_type": FORM_TYPES[detail]}
        case EventCode.CLIENT_ADDED:
            return {"source": CLIENT_SOURCES[detail]}
        case EventCode.JOURNEY_STARTED | EventCode.JOURNEY_COMPLETED:
            return {"journey": JOURNEYS[detail]}
        case EventCode.MESSAGE_SENT:
            return {"channel": MESSAGE_CHANNELS[detail]}
        case EventCode.INVOICE_SENT:
            return {"amount": amount, "currency": currency}
        case EventCode.PAYMENT_RECEIVED:
            return {"amount": amount, "currency": currency, "kind": PAYMENT_KINDS[detail]}
        case EventCode.PAYMENT_FAILED:
            return {
                "amount": amount,
                "currency": currency,
                "kind": PAYMENT_KINDS[SUBSCRIPTION_PAYMENT],
                "attempt": detail,
            }
        case EventCode.SUPPORT_TICKET_OPENED | EventCode.SUPPORT_TICKET_CLOSED:
            number, category = detail >> TICKET_CATEGORY_BITS, detail & 0b111
            return {"ticket_id": f"T{number:07d}", "category": TICKET_CATEGORIES[category]}
        case EventCode.FEATURE_USED:
            return {"feature": FEATURES[detail]}
        case EventCode.REFERRAL_SENT | EventCode.REFERRAL_CONVERTED:
            return _referral(detail, supplier_ids)
        case EventCode.SUBSCRIPTION_CHANGED:
            return {"from_plan": PLAN_TIERS[detail >> 2], "to_plan": PLAN_TIERS[detail & 0b11]}
        case EventCode.SUBSCRIPTION_CANCELLED:
            return {"reason": CANCELLATION_REASONS[detail]}
        case EventCode.CALENDAR_SYNCED:
            return {"provider": CALENDAR_PROVIDERS[detail]}
        case _:
            return {}
