"""The published shape of a playbook's results: arms, funnel, retention, uplift, money."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Funnel(_Out):
    """Treatment runs that reached each stage, a run counting once per stage.

    ``goal_reached`` counts every treatment run that reached its goal, whether or not it
    clicked: the goal is an outcome, not a message event.
    """

    runs: int = Field(description="treatment runs enrolled")
    sent: int = Field(description="runs with a message handed to its channel")
    delivered: int = Field(
        description="runs with a message accepted: by the SMTP server, the SMS provider, or "
        "shown in the app"
    )
    opened: int
    clicked: int
    goal_reached: int
    messages_sent: int = Field(description="messages handed to a channel, all runs together")


class GoalRates(_Out):
    treated: float | None
    control: float | None
    treated_reached: int
    control_reached: int


class UpliftOut(_Out):
    """Treated minus control retention with its interval (Newcombe's hybrid score method)."""

    difference: float | None
    low: float | None
    high: float | None
    confidence: float
    reason: str | None = Field(description="why the estimate is missing, when it is")


class CurrencyMoney(_Out):
    """Monthly recurring revenue in one currency, in minor units (pence, cents)."""

    currency: str
    treated_mrr_minor: int = Field(description="MRR at enrolment of the observed treated runs")
    retained_mrr_minor: int = Field(description="of which still a customer at the horizon")
    incremental_mrr_minor: int | None = Field(
        description="uplift × treated MRR at enrolment: revenue kept because of the playbook"
    )
    incremental_low_minor: int | None
    incremental_high_minor: int | None


class Horizon(_Out):
    """Retention ``days`` after enrolment, over the runs enrolled at least that long ago."""

    days: int
    treated_observed: int
    treated_retained: int
    control_observed: int
    control_retained: int
    treated_retention: float | None
    control_retention: float | None
    uplift: UpliftOut
    treated_save_rate: float | None = Field(
        description="recovered / (recovered + lost): recovered = reached the goal and still a "
        "customer at the horizon, lost = no longer a customer"
    )
    control_save_rate: float | None
    money: list[CurrencyMoney] = Field(description="one entry per currency, never summed")


class PlaybookResults(_Out):
    playbook_key: str
    as_of: datetime
    enrolled: int
    treated: int
    control: int
    funnel: Funnel
    goal: GoalRates
    horizons: list[Horizon]
