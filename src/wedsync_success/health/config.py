"""Schema of the health configuration file (weights, windows, targets, risk bands)."""

from __future__ import annotations

import enum
import math
from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from wedsync_success.activity.roles import expand_roles
from wedsync_success.kit.config_files import load_yaml_model
from wedsync_success.kit.errors import ConfigError

EventTypes = Annotated[list[str], BeforeValidator(expand_roles)]
"""Event types of a component; ``role:NAME`` stands for the types of that event role
(``defaults/event_roles.yaml``), so a product that renames its events maps them once."""


class RiskLevel(enum.StrEnum):
    HEALTHY = "healthy"
    WATCH = "watch"
    AT_RISK = "at_risk"
    CRITICAL = "critical"
    ONBOARDING = "onboarding"
    """Still within the onboarding period after signup: too new for the score bands."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WindowedTarget(_Strict):
    """A count over a window that earns 100 when it reaches ``target``."""

    weight: float = Field(ge=0, le=1)
    window_days: int = Field(ge=1, le=730)
    target: float = Field(gt=0)
    healthy: float = Field(
        default=100,
        gt=0,
        le=100,
        description="The component score a healthy supplier reaches; explanations measure "
        "against it",
    )


class Engagement(WindowedTarget):
    pass


class Adoption(WindowedTarget):
    event_types: EventTypes = Field(min_length=1)


class Clients(WindowedTarget):
    event_types: EventTypes = Field(min_length=1)


class Milestones(_Strict):
    weight: float = Field(ge=0, le=1)
    healthy: float = Field(default=100, gt=0, le=100)


class Penalty(_Strict):
    """100 minus ``penalty_per_event`` for each matching event in the window, floored at 0.

    Its healthy score is its full marks and cannot be configured: a failed payment or a
    ticket is never what a healthy supplier looks like.
    """

    weight: float = Field(ge=0, le=1)
    window_days: int = Field(ge=1, le=730)
    penalty_per_event: float = Field(ge=0, le=100)
    event_types: EventTypes = Field(min_length=1)


class Billing(Penalty):
    past_due_cap: float = Field(ge=0, le=100)


class Support(Penalty):
    pass


class Referrals(WindowedTarget):
    event_types: EventTypes = Field(min_length=1)
    bonus_event_types: EventTypes = Field(default_factory=list)
    bonus_multiplier: float = Field(default=1, ge=0)


class Network(_Strict):
    """Success in the referral network: the suppliers a supplier brought into WedSync,
    directly or down the chain (its reach over converted referrals, from
    ``referral_metrics``), earning 100 at ``target``. Read as of the network's last
    computation (``wedsync-success referrals compute``, and after imports and full rescores),
    not per event: the network is a property of everyone's referrals at once."""

    weight: float = Field(ge=0, le=1)
    target: float = Field(gt=0)
    healthy: float = Field(default=100, gt=0, le=100)


class Components(_Strict):
    engagement: Engagement
    adoption: Adoption
    milestones: Milestones
    clients: Clients
    billing: Billing
    support: Support
    referrals: Referrals
    network: Network


class RiskBands(_Strict):
    """Lower bounds: score >= healthy is healthy, >= watch is watch, >= at_risk is at risk."""

    healthy: float = Field(gt=0, le=100)
    watch: float = Field(gt=0, le=100)
    at_risk: float = Field(gt=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.healthy > self.watch > self.at_risk:
            raise ValueError("risk bands must satisfy healthy > watch > at_risk")
        return self


class Onboarding(_Strict):
    """New suppliers are "onboarding", not scored into a band, for ``days`` after signup."""

    days: int = Field(ge=0, le=365, description="0 turns the onboarding band off")
    milestones: list[str] = Field(
        default_factory=list,
        description="Keys of the milestones (from the milestones file) that make up onboarding",
    )


class EventRules(_Strict):
    change_threshold: float = Field(gt=0, le=100)
    champion_score: float = Field(gt=0, le=100)


class HealthConfig(_Strict):
    version: int = Field(ge=1)
    components: Components
    risk_bands: RiskBands
    onboarding: Onboarding = Onboarding(days=30)
    events: EventRules

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> Self:
        total = sum(self.weights().values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"component weights must sum to 1, not {total:g}")
        return self

    def weights(self) -> dict[str, float]:
        """Weight of each component, by name."""
        return {name: getattr(self.components, name).weight for name in COMPONENT_NAMES}

    def healthy_scores(self) -> dict[str, float]:
        """What a healthy supplier scores on each component (penalties: full marks)."""
        return {
            name: float(getattr(getattr(self.components, name), "healthy", 100.0))
            for name in COMPONENT_NAMES
        }

    def longest_window_days(self) -> int:
        """The widest window any component looks back over."""
        return int(
            max(
                getattr(self.components, name).window_days
                for name in COMPONENT_NAMES
                if hasattr(getattr(self.components, name), "window_days")
            )
        )


COMPONENT_NAMES: tuple[str, ...] = (
    "engagement",
    "adoption",
    "milestones",
    "clients",
    "billing",
    "support",
    "referrals",
    "network",
)


def load_health_config(path: Path) -> HealthConfig:
    """Read and validate the health configuration file."""
    return load_yaml_model(path, HealthConfig)


def check_onboarding_milestones(
    config: HealthConfig, milestone_keys: set[str], *, path: Path
) -> None:
    """Refuse an onboarding list naming a milestone the milestones file does not define."""
    unknown = [k for k in config.onboarding.milestones if k not in milestone_keys]
    if unknown:
        raise ConfigError(
            f"{path} names milestones the milestones file does not define",
            details=[
                {"field": "onboarding.milestones", "reason": f"unknown milestone {k!r}"}
                for k in unknown
            ],
        )
