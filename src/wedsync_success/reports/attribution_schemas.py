"""The published shape of the success attribution report (``reports/attribution.py``)."""

from __future__ import annotations

import enum
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from wedsync_success.reports.history_schemas import StatedRates


class CreditModel(enum.StrEnum):
    """How one conversion's single unit of credit is shared among the touches before it."""

    FIRST_TOUCH = "first_touch"
    """All of it to the earliest touch in the window."""
    LAST_TOUCH = "last_touch"
    """All of it to the latest touch before the conversion."""
    LINEAR = "linear"
    """An equal share to every touch in the window."""


class ConversionKind(enum.StrEnum):
    UPGRADE = "upgrade"
    """A subscription period continuing the previous one at a higher net MRR."""
    RENEWAL = "renewal"
    """A period starting at or after the previous one's end (within the grace), not higher."""
    REFERRAL = "referral_converted"
    """A ``referral_conversion`` activity event (by default ``referral_converted``)."""


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class ConversionCount(_Out):
    """The window's conversions of one kind, and how many had a touch before them."""

    kind: ConversionKind
    conversions: int
    attributed: int = Field(description="with at least one touch in the window before them")
    unattributed: int = Field(description="with none: no credit is given for them")
    value_minor: int = Field(
        description="MRR the conversions brought, in the reporting currency's minor units: "
        "the increase for an upgrade, the period's net MRR for a renewal, 0 for a referral"
    )


class TouchCredit(_Out):
    """What one type of touch earned for one kind of conversion, under each model asked."""

    kind: ConversionKind
    touch_type: str = Field(
        description="a success event type (`supplier.milestone_achieved`…) or an intervention "
        "step (`intervention.sent`, `.opened`, `.clicked`)"
    )
    touches: int = Field(description="touches of this type in the windows of the conversions")
    conversions: int = Field(description="conversions with at least one touch of this type")
    credit: dict[CreditModel, float] = Field(
        description="conversions credited to this touch type, per model (each conversion "
        "shares exactly 1 among its touches)"
    )
    value_minor: dict[CreditModel, int] = Field(
        description="the conversions' value times the credit, per model, in minor units"
    )


class AttributionReport(_Out):
    from_: date = Field(alias="from", description="First day of the conversions")
    to: date = Field(description="First day after the conversions: the window is [from, to)")
    window_days: int = Field(
        description="A touch counts when it is at most this many days "
        "before the conversion (and strictly before it)"
    )
    models: list[CreditModel]
    rates: StatedRates
    conversions: list[ConversionCount]
    credit: list[TouchCredit] = Field(
        description="one row per (kind, touch type) that earned credit, most credit first"
    )
