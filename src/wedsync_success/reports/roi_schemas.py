"""The published shape of the ROI report: per playbook and in total, backed by the holdout."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from wedsync_success.interventions.results_schemas import UpliftOut


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ArmRetention(_Out):
    """One arm of a playbook's window cohort."""

    suppliers: int = Field(description="runs enrolled in the window (a re-enrolment counts again)")
    retained: int = Field(description="of which a customer at the window's end")
    retention: float | None = Field(description="retained / suppliers; null for an empty arm")
    recovered: int = Field(description="reached the goal and still a customer at the end")
    lost: int = Field(description="no longer a customer at the end")
    save_rate: float | None = Field(
        description="recovered / (recovered + lost) over the window (the design notes' save "
        "rate); null when neither happened"
    )


class Amount(_Out):
    """A money figure in the reporting currency's minor units with its interval."""

    estimate_minor: int
    low_minor: int
    high_minor: int


class Ratio(_Out):
    estimate: float
    low: float
    high: float


class Cost(_Out):
    """What treating the cohort cost, from the configured unit costs."""

    messages: dict[str, int] = Field(
        description="messages handed to each channel (email, in_app, sms)"
    )
    tasks: int = Field(description="team tasks opened for the cohort")
    messages_minor: int
    tasks_minor: int = Field(description="tasks x CSM hours per task x hourly rate")
    total_minor: int


class PlaybookRoi(_Out):
    playbook_key: str
    holdout: float | None = Field(
        description="the control share the playbooks file sets; null when the playbook is no "
        "longer in the file"
    )
    treated: ArmRetention
    control: ArmRetention
    measurable: bool = Field(description="both arms have runs: the effect has a holdout")
    reason: str | None = Field(description="why the effect cannot be measured, when it cannot")
    uplift: UpliftOut = Field(description="treated minus control retention (Newcombe interval)")
    treated_mrr_minor: int = Field(
        description="MRR at enrolment of the treated runs, in the reporting currency"
    )
    treated_mrr_not_converted_minor: dict[str, int] = Field(
        description="treated MRR in currencies without a rate, left out of the money figures"
    )
    incremental_mrr: Amount | None = Field(
        description="retained MRR attributable to treatment: uplift x treated MRR"
    )
    incremental_revenue: Amount | None = Field(
        description="incremental MRR x revenue_months: the revenue kept because of the playbook"
    )
    cost: Cost
    roi: Ratio | None = Field(
        description="(incremental revenue - cost) / cost, with the uplift's interval carried "
        "through"
    )
    roi_reason: str | None = Field(description="why the ROI is missing, when it is")


class LeftOut(_Out):
    playbook_key: str
    reason: str


class RoiTotal(_Out):
    """The measurable playbooks together; the others are listed, never counted."""

    playbooks: list[str] = Field(description="the playbooks summed")
    left_out: list[LeftOut] = Field(description="playbooks whose effect cannot be measured")
    treated: int
    control: int
    incremental_mrr: Amount | None = Field(
        description="sum over the playbooks, interval by MOVER (independent playbooks assumed)"
    )
    incremental_revenue: Amount | None
    cost_minor: int = Field(description="cost of the summed playbooks")
    roi: Ratio | None
    roi_reason: str | None


class CostModel(_Out):
    """The configured unit costs the report used (WEDSYNC_PROGRAMME_COSTS_CONFIG)."""

    currency: str
    message_cost_minor: dict[str, float]
    task_hours: float
    hourly_rate_minor: int


class RoiReport(_Out):
    from_: date = Field(alias="from", description="first day of the window")
    to: date = Field(description="the day after the window: runs enrolled in [from, to)")
    as_of: datetime
    currency: str = Field(description="the reporting currency of every money figure")
    rates: dict[str, float] = Field(description="the conversion rates used")
    revenue_months: float = Field(
        description="months of MRR a kept subscription counts for in the revenue (configured)"
    )
    confidence: float
    costs: CostModel
    playbooks: list[PlaybookRoi]
    total: RoiTotal

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)
