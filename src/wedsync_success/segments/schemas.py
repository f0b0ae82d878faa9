"""What the segments API and CLI read and answer."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wedsync_success.kit.limits import StoredText
from wedsync_success.segments.definitions import SegmentDefinition
from wedsync_success.segments.rules import Rule, check_size


class SegmentSource(enum.StrEnum):
    FILE = "file"
    """Defined in the segments file (``WEDSYNC_SEGMENTS_CONFIG``): change it there."""
    API = "api"


class SegmentIn(SegmentDefinition):
    """A new segment: the same schema as the file's."""


class SegmentPatch(BaseModel):
    """Fields of an API segment to change; the others stay."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: StoredText | None = Field(default=None, min_length=1, max_length=200)
    description: StoredText | None = Field(default=None, max_length=2000)
    rules: Rule | None = None

    @field_validator("rules")
    @classmethod
    def _bounded(cls, rule: Rule | None) -> Rule | None:
        if rule is not None:
            check_size(rule)
        return rule


class SegmentOut(BaseModel):
    key: str
    name: str
    description: str
    rules: dict[str, Any]
    source: SegmentSource
    member_count: int
    last_entered_at: datetime | None = Field(
        description="When the latest current member entered (null: no members)"
    )
    last_evaluated_at: datetime | None = Field(
        description="The last evaluation over every supplier (null: none yet); ingested "
        "batches re-evaluate the suppliers they touch in between",
    )
    created_at: datetime | None = Field(description="API segments only")
    updated_at: datetime | None = Field(description="API segments only")


class Evaluation(BaseModel):
    """What one evaluation changed in one segment."""

    key: str
    entered: int
    exited: int
    members: int


class MemberOut(BaseModel):
    supplier_id: uuid.UUID
    external_id: str | None
    business_name: str
    vendor_type: str
    plan_tier: str
    country: str
    entered_at: datetime


class MemberPage(BaseModel):
    items: list[MemberOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last")
    total: int = Field(description="Members of the segment now")


MEMBER_CSV_COLUMNS = (
    "supplier_id",
    "external_id",
    "business_name",
    "vendor_type",
    "plan_tier",
    "country",
    "entered_at",
)
