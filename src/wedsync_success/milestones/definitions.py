"""Schema of the declarative milestone definitions file."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from wedsync_success.kit.config_files import load_yaml_model


class Condition(BaseModel):
    """At least ``min_count`` events of ``event_type`` whose properties match ``properties``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: str = Field(min_length=1, max_length=64)
    min_count: int = Field(default=1, ge=1)
    properties: dict[str, str] = Field(
        default_factory=dict,
        description="Only events whose properties have these exact (string) values count",
    )


class MilestoneDefinition(BaseModel):
    """A milestone: reached when all its conditions hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    name: str = Field(min_length=1)
    description: str = ""
    conditions: list[Condition] = Field(min_length=1)

    @property
    def event_types(self) -> set[str]:
        return {c.event_type for c in self.conditions}


class MilestoneCatalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    milestones: list[MilestoneDefinition] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_keys(self) -> Self:
        keys = [m.key for m in self.milestones]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"duplicate milestone keys: {', '.join(duplicates)}")
        return self

    def get(self, key: str) -> MilestoneDefinition | None:
        return next((m for m in self.milestones if m.key == key), None)


def load_milestone_catalog(path: Path) -> MilestoneCatalog:
    """Read and validate the milestone definitions file."""
    return load_yaml_model(path, MilestoneCatalog)
