"""Pydantic shapes of the surveys room: responses in, surveys sent, NPS and CSAT reports."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from wedsync_success.kit.batch import RejectedItem
from wedsync_success.kit.limits import StoredInstant, StoredText
from wedsync_success.reports.windows import ReportPeriod
from wedsync_success.suppliers.schemas import ExternalId
from wedsync_success.surveys.kinds import (
    MAX_COMMENT_CHARS,
    SCALES,
    Segment,
    SurveyChannel,
    SurveyKind,
)

__all__ = ["Segment", "SurveyChannel", "SurveyKind"]

MAX_RESPONSE_ID_CHARS = 128


class ResponseSource(enum.StrEnum):
    API = "api"
    IMPORT = "import"
    EMAIL = "email"  # a score link of a survey email
    IN_APP = "in_app"  # the score picked in the survey's in-app message


class SurveyTrigger(enum.StrEnum):
    """Why a survey is asked."""

    PERIODIC = "periodic"  # the NPS survey every interval
    ON_DEMAND = "on_demand"  # a team member asked
    INTERVENTION = "intervention"  # CSAT after an intervention (``reference``: its id)
    SUPPORT_TICKET = "support_ticket"  # CSAT after a support ticket (``reference``: its id)


class SurveyResponseIn(BaseModel):
    """One response as a client (or a file line) sends it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    response_id: StoredText = Field(
        min_length=1,
        max_length=MAX_RESPONSE_ID_CHARS,
        description="The client's own id of the response: sending it again stores nothing new",
    )
    kind: SurveyKind
    score: int = Field(strict=True, description="NPS: 0 to 10; CSAT: 1 to 5")
    comment: StoredText | None = Field(default=None, max_length=MAX_COMMENT_CHARS)
    supplier_id: uuid.UUID | None = Field(
        default=None, description="The supplier's id; or give supplier_external_id instead"
    )
    supplier_external_id: ExternalId | None = Field(
        default=None, description="The supplier's external id, in place of supplier_id"
    )
    supplier_user_id: uuid.UUID | None = Field(
        default=None, description="The user who answered (a user of that supplier)"
    )
    responded_at: StoredInstant = Field(description="ISO 8601 with a time zone, not in the future")

    @field_validator("score")
    @classmethod
    def _on_scale(cls, value: int, info: ValidationInfo) -> int:
        kind = info.data.get("kind")
        return value if kind is None else on_scale(kind, value)

    @field_validator("comment")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _one_supplier(self) -> Self:
        if (self.supplier_id is None) == (self.supplier_external_id is None):
            raise ValueError("give exactly one of supplier_id and supplier_external_id")
        return self


def on_scale(kind: SurveyKind, score: int) -> int:
    """``score`` if it is on ``kind``'s scale; else the ValueError naming the scale."""
    low, high = SCALES[kind]
    if not low <= score <= high:
        raise ValueError(f"a {kind.value} score is a whole number from {low} to {high}")
    return score


class ResponsesResult(BaseModel):
    """What happened to each item; ``accepted + duplicates + rejected`` = batch size."""

    accepted: int
    duplicates: int
    rejected: int
    errors: list[RejectedItem] = Field(default_factory=list)
    low_scores: int = Field(
        0,
        description="Accepted detractors (NPS 0-6) and low CSATs (1-2) answered in the last "
        "30 days: each is a success event (older ones are history and announce nothing)",
    )


class ResponseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    response_id: str
    kind: SurveyKind
    score: int
    comment: str | None
    supplier_id: uuid.UUID
    supplier_user_id: uuid.UUID | None
    survey_id: uuid.UUID | None
    source: ResponseSource
    responded_at: datetime


class SendSurveyIn(BaseModel):
    """Ask one supplier's user a survey now (through the interventions' gate)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: SurveyKind
    channel: SurveyChannel = SurveyChannel.EMAIL
    supplier_user_id: uuid.UUID | None = Field(
        default=None, description="Default: the supplier's primary contact"
    )
    trigger: SurveyTrigger = SurveyTrigger.ON_DEMAND
    reference: StoredText | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="What a CSAT asks about: the intervention's or support ticket's id",
    )


class SendOutcome(enum.StrEnum):
    QUEUED = "queued"
    ASKED_RECENTLY = "asked_recently"  # the same kind within the configured interval


class SurveySentOut(BaseModel):
    outcome: SendOutcome
    survey_id: uuid.UUID | None
    intervention_id: uuid.UUID | None = Field(
        description="The message that carries it: its decisions (sent, capped, held, "
        "unsubscribed…) are on GET /api/v1/interventions"
    )
    detail: str | None = None


class InAppAnswerIn(BaseModel):
    """A score picked in a survey's in-app message."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    supplier_user_id: uuid.UUID = Field(description="The user the app acts for")
    score: int = Field(strict=True, ge=0, le=10, description="On the survey's scale")
    comment: StoredText | None = Field(default=None, max_length=MAX_COMMENT_CHARS)


# --- metrics ------------------------------------------------------------------------------


class NpsFigures(BaseModel):
    segment: str | None = Field(description="The segment's value; null for all responses")
    responses: int
    promoters: int = Field(description="Scores 9-10")
    passives: int = Field(description="Scores 7-8")
    detractors: int = Field(description="Scores 0-6")
    nps: float | None = Field(
        description="% promoters - % detractors, -100 to 100; null without responses"
    )


class CsatFigures(BaseModel):
    segment: str | None = Field(description="The segment's value; null for all responses")
    responses: int
    satisfied: int = Field(description="Scores 4-5")
    csat: float | None = Field(
        description="Share of responses scoring 4-5, in percent; null without responses"
    )


class NpsPeriod(BaseModel):
    start: date
    end: date = Field(description="Exclusive")
    total: NpsFigures
    segments: list[NpsFigures] = Field(description="Per segment, when `by` names one")


class CsatPeriod(BaseModel):
    start: date
    end: date = Field(description="Exclusive")
    total: CsatFigures
    segments: list[CsatFigures]


class NpsReport(BaseModel):
    from_: date = Field(alias="from", serialization_alias="from")
    to: date = Field(description="Exclusive")
    period: ReportPeriod
    by: Segment
    total: NpsFigures
    segments: list[NpsFigures] = Field(description="The whole window, per segment")
    periods: list[NpsPeriod]

    model_config = ConfigDict(populate_by_name=True)


class CsatReport(BaseModel):
    from_: date = Field(alias="from", serialization_alias="from")
    to: date = Field(description="Exclusive")
    period: ReportPeriod
    by: Segment
    total: CsatFigures
    segments: list[CsatFigures]
    periods: list[CsatPeriod]

    model_config = ConfigDict(populate_by_name=True)


class LatestScores(BaseModel):
    """What the supplier's profile shows: the latest of each kind, and recent comments."""

    nps: ResponseOut | None
    csat: ResponseOut | None
    recent: list[ResponseOut] = Field(description="Newest first")
