"""The programme's cost model (``defaults/programme_costs.yaml``): what a message of each
channel and a CSM hour cost, and how many months of a kept subscription count as revenue.

The file is validated when the process starts (a mistake names its field), like the
playbooks file. Costs are in the file's ``currency`` and converted to the reporting currency
with the configured rates (a currency without a rate is refused at start), so a cost is
never compared with revenue in another currency.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from wedsync_success.kit.config_files import load_yaml_model
from wedsync_success.kit.currency import Rates
from wedsync_success.kit.errors import ConfigError

MAX_UNIT_COST_MINOR = 1_000_000_000.0
"""Bound on any unit cost (ten million pounds): keeps every product within BIGINT."""


class MessageCosts(BaseModel):
    """Cost of one message handed to each channel, in minor units (fractions allowed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: float = Field(default=0.1, ge=0, le=MAX_UNIT_COST_MINOR, allow_inf_nan=False)
    in_app: float = Field(default=0.0, ge=0, le=MAX_UNIT_COST_MINOR, allow_inf_nan=False)
    sms: float = Field(default=4.0, ge=0, le=MAX_UNIT_COST_MINOR, allow_inf_nan=False)

    def of(self, channel: str) -> float:
        return float(getattr(self, channel))


class ProgrammeCosts(BaseModel):
    """The cost side of the ROI, and the revenue horizon of a kept subscription."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(default=1, ge=1)
    currency: str = Field(default="GBP", pattern=r"^[A-Z]{3}$")
    message_cost_minor: MessageCosts = MessageCosts()
    task_hours: float = Field(
        default=0.5, ge=0, le=1000, allow_inf_nan=False, description="CSM hours a team task takes"
    )
    hourly_rate_minor: int = Field(
        default=3500, ge=0, le=int(MAX_UNIT_COST_MINOR), description="cost of a CSM hour"
    )
    revenue_months: float = Field(
        default=12.0,
        gt=0,
        le=120,
        allow_inf_nan=False,
        description="months of a kept subscription's MRR counted as retained revenue",
    )

    @property
    def task_cost_minor(self) -> float:
        """What one team task costs: its hours at the hourly rate."""
        return self.task_hours * self.hourly_rate_minor


def load_programme_costs(path: Path, *, rates: Rates) -> ProgrammeCosts:
    """The costs file, validated; its currency must be convertible to the reporting one."""
    costs = load_yaml_model(path, ProgrammeCosts)
    if rates.factor(costs.currency) is None:
        raise ConfigError(
            f"{path} is in a currency the reporting currency has no rate for",
            details=[
                {
                    "field": "currency",
                    "reason": f"no rate from {costs.currency} to {rates.reporting} "
                    "(WEDSYNC_FX_RATES)",
                }
            ],
        )
    return costs
