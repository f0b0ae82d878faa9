"""Schema of the playbooks file: triggers, audiences, steps, goals, caps and quiet hours.

The file is validated when the process starts (and by ``wedsync-success playbooks
validate FILE``); a mistake names the field, e.g. ``playbooks.2.steps.1.wait``.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wedsync_success.interventions.channels.base import Category, Channel
from wedsync_success.kit.config_files import load_yaml_model

KEY_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"
RISK_LEVELS = ("healthy", "watch", "at_risk", "critical", "onboarding")
RiskLevel = Literal["healthy", "watch", "at_risk", "critical", "onboarding"]
"""``health.config.RiskLevel``'s values. ``onboarding`` is not a band: a supplier entering it
never enters at_risk or critical, so rescue playbooks leave new suppliers alone, and
``risk_level_left: [onboarding]`` triggers on the day a supplier leaves its onboarding."""
SCHEDULE_DAILY = "schedule.daily"
"""The pseudo-event of the daily sweep, for triggers that are about time, not an event."""
TRIGGER_EVENTS = (
    "supplier.risk_level_changed",
    "supplier.health_declined",
    "supplier.health_improved",
    "supplier.milestone_achieved",
    "supplier.success_champion",
    "supplier.payment_failed",
    "survey.detractor",
    "survey.csat_low",
    SCHEDULE_DAILY,
)
_DURATION = re.compile(r"^(\d{1,4})([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(value: str) -> timedelta:
    """``"90m"``, ``"6h"``, ``"2d"`` as a timedelta (at most 9999 units)."""
    match = _DURATION.match(value.strip())
    if not match:
        raise ValueError("must be a number followed by m, h or d, e.g. 2d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Band(_Strict):
    """A closed range ``[min, max]``; either end may be left open."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not be above max")
        return self

    def contains(self, value: float | None) -> bool:
        if value is None:
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


class TriggerConditions(_Strict):
    """Every condition given must hold for the event to enrol the supplier."""

    risk_level_entered: list[RiskLevel] | None = None
    risk_level_left: list[RiskLevel] | None = None
    churn_probability: Band | None = None
    milestone: list[str] | None = Field(default=None, description="achieved one of these")
    missing_milestone: str | None = Field(default=None, description="has not achieved it yet")
    days_since_signup: Band | None = None


class Trigger(_Strict):
    event: str
    when: TriggerConditions = TriggerConditions()

    @field_validator("event")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in TRIGGER_EVENTS:
            raise ValueError(f"must be one of {', '.join(TRIGGER_EVENTS)}")
        return value


class Audience(_Strict):
    """Who may be enrolled at all; an empty list means no restriction."""

    vendor_types: list[str] = []
    plans: list[str] = []
    exclude_plans: list[str] = []
    countries: list[str] = []


SkipCondition = Literal[
    "email_opened",  # an email of this run was opened
    "clicked",  # any message of this run was clicked
    "inapp_seen",  # an in-app message of this run was seen
    "recovered",  # the supplier is back to healthy or watch
    "still_healthy",  # the supplier is no longer healthy (for success playbooks)
]


class WaitStep(_Strict):
    wait: str

    @field_validator("wait")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def delay(self) -> timedelta:
        return parse_duration(self.wait)


class _ChannelStep(_Strict):
    skip_if: list[SkipCondition] = []
    category: Category = Category.MARKETING


class EmailStep(_ChannelStep):
    channel: Literal[Channel.EMAIL]
    template: str = Field(pattern=KEY_PATTERN)


class InAppStep(_ChannelStep):
    channel: Literal[Channel.IN_APP]
    kind: Literal["coach", "celebration"] = "coach"
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=2000)
    cta_label: str | None = Field(default=None, max_length=80)
    cta_url: str | None = Field(default=None, max_length=500)


class SmsStep(_ChannelStep):
    channel: Literal[Channel.SMS]
    text: str = Field(min_length=1, max_length=1600)


class TaskStep(_ChannelStep):
    channel: Literal[Channel.TASK]
    category: Category = Category.TRANSACTIONAL
    reason: str = Field(pattern=KEY_PATTERN)
    title: str = Field(min_length=1, max_length=200)
    priority: Literal["low", "medium", "high", "urgent"] = "medium"
    due_in_days: int = Field(default=2, ge=0, le=365)


class WebhookStep(_ChannelStep):
    channel: Literal[Channel.WEBHOOK]
    category: Category = Category.TRANSACTIONAL
    target: str = Field(pattern=KEY_PATTERN, description="a key of the file's `webhooks`")
    action: str = Field(min_length=1, max_length=100, description="sent as payload.action")


ChannelStep = Annotated[
    EmailStep | InAppStep | SmsStep | TaskStep | WebhookStep, Field(discriminator="channel")
]
Step = WaitStep | ChannelStep


class Goal(_Strict):
    """Reaching any of these ends the run early, as a success."""

    risk_level_in: list[RiskLevel] = []
    milestone: str | None = None

    @property
    def defined(self) -> bool:
        return bool(self.risk_level_in or self.milestone)


class Playbook(_Strict):
    key: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    enabled: bool = True
    priority: int = Field(default=0, ge=0, le=1000, description="higher runs first")
    goal_group: str | None = Field(
        default=None,
        pattern=KEY_PATTERN,
        description="playbooks sharing a goal group never run at once for one supplier "
        "(default: the playbook's own key)",
    )
    trigger: Trigger
    audience: Audience = Audience()
    steps: list[Step] = Field(min_length=1, max_length=50)
    goal: Goal = Goal()
    goal_window_days: int = Field(
        default=14,
        ge=0,
        le=365,
        description="after the last step, how long the run waits for its goal before it "
        "counts as completed without it",
    )
    reenrol_after_days: int = Field(default=30, ge=0, le=3650)
    holdout: float = Field(default=0.1, ge=0, le=0.9, description="share assigned to control")

    @model_validator(mode="after")
    def _has_a_send(self) -> Self:
        if not any(not isinstance(s, WaitStep) for s in self.steps):
            raise ValueError("a playbook needs at least one channel step")
        return self

    @property
    def group(self) -> str:
        return self.goal_group or self.key


class FrequencyCap(_Strict):
    """At most ``messages`` marketing messages per supplier in any ``per_days`` days."""

    messages: int = Field(default=3, ge=1, le=1000)
    per_days: int = Field(default=7, ge=1, le=365)


class QuietHours(_Strict):
    """No message on ``channels`` between ``start`` and ``end``, in the supplier's local time."""

    start: time = time(21, 0)
    end: time = time(8, 0)
    channels: list[Channel] = [Channel.EMAIL, Channel.SMS]

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if self.start == self.end:
            raise ValueError("start and end must differ")
        return self


class WebhookTarget(_Strict):
    url: str = Field(pattern=r"^https?://")
    secret_env: str = Field(
        pattern=r"^[A-Z][A-Z0-9_]*$",
        description="the environment variable holding the whsec_ signing secret",
    )


class PlaybookFile(_Strict):
    version: int = Field(ge=1)
    frequency_cap: FrequencyCap = FrequencyCap()
    quiet_hours: QuietHours = QuietHours()
    global_holdout: float = Field(
        default=0.0, ge=0, le=0.5, description="share of suppliers never sent any playbook"
    )
    webhooks: dict[str, WebhookTarget] = {}
    playbooks: list[Playbook] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        keys = [p.key for p in self.playbooks]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"duplicate playbook keys: {', '.join(duplicates)}")
        for playbook in self.playbooks:
            for step in playbook.steps:
                if isinstance(step, WebhookStep) and step.target not in self.webhooks:
                    raise ValueError(
                        f"playbook {playbook.key}: webhook target {step.target!r} is not "
                        "declared under webhooks"
                    )
        return self

    def get(self, key: str) -> Playbook | None:
        return next((p for p in self.playbooks if p.key == key), None)

    def triggered_by(self, event_type: str) -> list[Playbook]:
        """Enabled playbooks listening to ``event_type``, highest priority first."""
        return sorted(
            (p for p in self.playbooks if p.enabled and p.trigger.event == event_type),
            key=lambda p: -p.priority,
        )


def load_playbooks(path: Path) -> PlaybookFile:
    """Read and validate a playbooks file."""
    return load_yaml_model(path, PlaybookFile)
