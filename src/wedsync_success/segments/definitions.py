"""A segment's definition (key, name, rule) and the file of shipped segments.

Segments come from two places with one schema: the YAML file named by
``WEDSYNC_SEGMENTS_CONFIG`` (``defaults/segments.yaml``), read and validated at start, and the
API (admins create, change and delete them; stored in ``segments``). Keys are unique across
both: the API refuses a key the file defines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wedsync_success.kit.config_files import load_yaml_model
from wedsync_success.kit.errors import ConfigError
from wedsync_success.kit.limits import StoredText
from wedsync_success.segments.rules import Rule, check_size, milestone_refusals

KEY_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"


class SegmentDefinition(BaseModel):
    """A named behavioural segment: the active suppliers its rule matches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=KEY_PATTERN, description="Stable identifier, e.g. onboarding_stalled")
    name: StoredText = Field(min_length=1, max_length=200)
    description: StoredText = Field(default="", max_length=2000)
    rules: Rule = Field(description="A group: {all: [...]} or {any: [...]} of conditions")

    @field_validator("rules")
    @classmethod
    def _bounded(cls, rule: Rule) -> Rule:
        check_size(rule)
        return rule


class SegmentCatalog(BaseModel):
    """The segments file: a version and its segments, keys unique."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    segments: list[SegmentDefinition] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _unique_keys(self) -> Self:
        keys = [s.key for s in self.segments]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"duplicate segment keys: {', '.join(duplicates)}")
        return self

    def get(self, key: str) -> SegmentDefinition | None:
        return next((s for s in self.segments if s.key == key), None)


def load_segment_catalog(path: Path, *, milestone_keys: set[str]) -> SegmentCatalog:
    """Read and validate the segments file; a milestone the milestones file does not define
    is refused here, at start, naming the segment and the condition."""
    catalog = load_yaml_model(path, SegmentCatalog)
    details = [
        refusal
        for i, segment in enumerate(catalog.segments)
        for refusal in milestone_refusals(
            segment.rules, milestone_keys, prefix=f"segments.{i}.rules"
        )
    ]
    if details:
        raise ConfigError(f"{path} names unknown milestones", details=details)
    return catalog
