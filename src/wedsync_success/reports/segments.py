"""The attributes history reports group suppliers by, as SQL expressions over ``suppliers``."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, case, cast, func, literal_column

from wedsync_success.suppliers.models import Supplier

UNKNOWN = "unknown"
"""The segment of suppliers whose attribute is not recorded (no channel, no reason)."""
ALL = "all"


class Segment(enum.StrEnum):
    """A supplier attribute to break a report down by (``all``: one segment)."""

    ALL = "all"
    VENDOR_TYPE = "vendor_type"
    PLAN = "plan"
    ACQUISITION_CHANNEL = "acquisition_channel"
    COUNTRY = "country"
    CANCELLATION_REASON = "cancellation_reason"
    TENURE_BAND = "tenure_band"


TENURE_BANDS: tuple[tuple[str, int], ...] = (
    ("0-3 months", 91),
    ("3-6 months", 182),
    ("6-12 months", 365),
    ("12-24 months", 730),
)
"""Tenure bands as (label, upper bound in days, exclusive); beyond the last: "24+ months"."""
LAST_TENURE_BAND = "24+ months"


def segment_key(by: Segment, *, at: datetime | None = None) -> ColumnElement[Any]:
    """The segment each supplier falls in, as a string expression. ``plan`` is the plan on the
    supplier row (its current or, once churned, last plan); ``tenure_band`` is the time from
    signup to ``at`` (the start of the window being broken down)."""
    s = Supplier
    match by:
        case Segment.ALL:
            # A cast, not a bare constant: PostgreSQL refuses a constant in GROUP BY.
            return cast(literal_column(f"'{ALL}'"), String(8))
        case Segment.VENDOR_TYPE:
            return s.vendor_type.expression
        case Segment.PLAN:
            return s.plan_tier.expression
        case Segment.COUNTRY:
            return s.country.expression
        case Segment.ACQUISITION_CHANNEL:
            return func.coalesce(s.acquisition_channel, UNKNOWN)
        case Segment.CANCELLATION_REASON:
            return func.coalesce(s.cancellation_reason, UNKNOWN)
        case Segment.TENURE_BAND:
            if at is None:
                raise ValueError("tenure_band needs the instant tenure is measured at")
            whens = [(s.signed_up_at > at - timedelta(days=d), label) for label, d in TENURE_BANDS]
            return case(*whens, else_=LAST_TENURE_BAND)
