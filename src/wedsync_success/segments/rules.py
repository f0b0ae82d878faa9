"""The segment rule language: ``all``/``any`` groups of ``field``/``op``/``value`` conditions.

A rule is declarative data (YAML or JSON), validated here against the catalogue of fields a
segment can test, so a bad rule is refused with the path of the offending part (``rules.all.1
.value``) before anything is stored or compiled; :mod:`wedsync_success.segments.repository`
compiles a valid rule to one SQL condition.

Fields:

- supplier attributes: ``vendor_type``, ``plan_tier``, ``country``, ``subscription_status``,
  ``acquisition_channel`` (text); ``tenure_days`` (whole days since signup), ``mrr_minor``;
- the current health score: ``health.score``, ``health.risk_level``, each component
  (``health.engagement`` …), ``health.change_7d``, ``health.change_30d``;
- the current churn prediction: ``churn.probability``, ``churn.risk_band``;
- milestones: ``milestone`` with ``achieved`` / ``not_achieved`` and a milestone key;
- activity: ``activity.<event type>``, the number of those events in the last ``days`` days.

A supplier without a health score or churn prediction matches no condition on one (SQL's
NULL: neither ``eq`` nor ``ne``).
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from wedsync_success.health.config import COMPONENT_NAMES, RiskLevel
from wedsync_success.kit.limits import text_problem
from wedsync_success.suppliers.models import PlanTier, SubscriptionStatus, VendorType

MAX_DEPTH = 4
"""Groups nest at most this deep (a rule is a top-level group)."""
MAX_CONDITIONS = 64
"""Conditions in one rule, all groups together: each becomes a term of one SQL condition."""
MAX_GROUP_ITEMS = 32
MAX_CHOICES = 100
MAX_TEXT = 64
MAX_ACTIVITY_DAYS = 3650
MAX_NUMBER = 10**15
"""Bound of numeric values: within BIGINT and exactly representable as a float."""
EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")
MILESTONE_KEY = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
ACTIVITY_PREFIX = "activity."


class Op(enum.StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    ACHIEVED = "achieved"
    NOT_ACHIEVED = "not_achieved"


class Kind(enum.StrEnum):
    TEXT = "text"
    NUMBER = "number"
    MILESTONE = "milestone"
    ACTIVITY = "activity"


TEXT_OPS = frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN})
NUMBER_OPS = frozenset({Op.EQ, Op.NE, Op.LT, Op.LTE, Op.GT, Op.GTE})
MILESTONE_OPS = frozenset({Op.ACHIEVED, Op.NOT_ACHIEVED})
OPS_OF_KIND = {
    Kind.TEXT: TEXT_OPS,
    Kind.NUMBER: NUMBER_OPS,
    Kind.MILESTONE: MILESTONE_OPS,
    Kind.ACTIVITY: NUMBER_OPS,
}


@dataclass(frozen=True)
class FieldSpec:
    """What a field holds: its kind, and the values it can take (choices, or a range)."""

    kind: Kind
    choices: frozenset[str] | None = None
    pattern: re.Pattern[str] | None = None
    low: float = -MAX_NUMBER
    high: float = MAX_NUMBER
    integer: bool = False


def _choices(values: type[enum.StrEnum]) -> frozenset[str]:
    return frozenset(v.value for v in values)


FIELDS: dict[str, FieldSpec] = {
    "vendor_type": FieldSpec(Kind.TEXT, choices=_choices(VendorType)),
    "plan_tier": FieldSpec(Kind.TEXT, choices=_choices(PlanTier)),
    "subscription_status": FieldSpec(Kind.TEXT, choices=_choices(SubscriptionStatus)),
    "country": FieldSpec(Kind.TEXT, pattern=re.compile(r"^[A-Z]{2}$")),
    "acquisition_channel": FieldSpec(Kind.TEXT),
    "tenure_days": FieldSpec(Kind.NUMBER, low=0, high=36_500, integer=True),
    "mrr_minor": FieldSpec(Kind.NUMBER, low=0, integer=True),
    "health.score": FieldSpec(Kind.NUMBER, low=0, high=100),
    "health.risk_level": FieldSpec(Kind.TEXT, choices=_choices(RiskLevel)),
    **{f"health.{name}": FieldSpec(Kind.NUMBER, low=0, high=100) for name in COMPONENT_NAMES},
    "health.change_7d": FieldSpec(Kind.NUMBER, low=-100, high=100),
    "health.change_30d": FieldSpec(Kind.NUMBER, low=-100, high=100),
    "churn.probability": FieldSpec(Kind.NUMBER, low=0, high=1),
    "churn.risk_band": FieldSpec(Kind.TEXT, choices=frozenset({"low", "medium", "high"})),
    "milestone": FieldSpec(Kind.MILESTONE, pattern=MILESTONE_KEY),
}
ACTIVITY_SPEC = FieldSpec(Kind.ACTIVITY, low=0, high=MAX_NUMBER, integer=True)


UNKNOWN_FIELD = (
    "unknown field: one of vendor_type, plan_tier, country, subscription_status, "
    "acquisition_channel, tenure_days, mrr_minor, health.*, churn.*, milestone, "
    "activity.<event type> (docs/segments.md)"
)


def field_spec(name: str) -> FieldSpec | None:
    """The spec of field ``name`` (``activity.<event type>`` for any valid event type)."""
    if name.startswith(ACTIVITY_PREFIX):
        return ACTIVITY_SPEC if EVENT_TYPE.match(name[len(ACTIVITY_PREFIX) :]) else None
    return FIELDS.get(name)


def _check_text(value: Any, spec: FieldSpec) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if not value or len(value) > MAX_TEXT:
        raise ValueError(f"must be 1 to {MAX_TEXT} characters")
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    if spec.choices is not None and value not in spec.choices:
        raise ValueError(f"must be one of {', '.join(sorted(spec.choices))}")
    if spec.pattern is not None and not spec.pattern.match(value):
        raise ValueError(f"must match {spec.pattern.pattern}")
    return value


def _check_number(value: Any, spec: FieldSpec) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be finite")
    if spec.integer and not (isinstance(value, int) or value.is_integer()):
        raise ValueError("must be a whole number")
    if not spec.low <= value <= spec.high:
        raise ValueError(f"must be between {spec.low:g} and {spec.high:g}")
    return int(value) if spec.integer else value


class Rule(BaseModel):
    """A group (``all`` or ``any`` of rules) or a condition (``field``, ``op``, ``value``;
    ``days`` for activity counts)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    all: tuple[Rule, ...] | None = Field(
        default=None, max_length=MAX_GROUP_ITEMS, description="Every one holds"
    )
    any: tuple[Rule, ...] | None = Field(
        default=None, max_length=MAX_GROUP_ITEMS, description="One at least holds"
    )
    field: str | None = Field(default=None, max_length=80, validate_default=True)
    op: Op | None = Field(default=None, validate_default=True)
    value: Any = Field(default=None, validate_default=True)
    days: int | None = Field(default=None, validate_default=True)

    @field_validator("field")
    @classmethod
    def _known_field(cls, name: str | None) -> str | None:
        if name is not None and field_spec(name) is None:
            raise ValueError(
                "unknown field: one of " + ", ".join(sorted(FIELDS)) + ", or activity.<event type>"
            )
        return name

    @field_validator("op")
    @classmethod
    def _op_of_field(cls, op: Op | None, info: ValidationInfo) -> Op | None:
        spec = field_spec(info.data.get("field") or "")
        if op is not None and spec is not None and op not in OPS_OF_KIND[spec.kind]:
            allowed = ", ".join(sorted(OPS_OF_KIND[spec.kind]))
            raise ValueError(f"not an operator of {info.data['field']}: one of {allowed}")
        return op

    @field_validator("value")
    @classmethod
    def _value_of_field(cls, value: Any, info: ValidationInfo) -> Any:
        spec = field_spec(info.data.get("field") or "")
        op = info.data.get("op")
        if spec is None or op is None:
            return value  # the field or op is refused (or absent: a group)
        if spec.kind in (Kind.NUMBER, Kind.ACTIVITY):
            return _check_number(value, spec)
        if op in (Op.IN, Op.NOT_IN):
            if not isinstance(value, list | tuple) or not 1 <= len(value) <= MAX_CHOICES:
                raise ValueError(f"must be a list of 1 to {MAX_CHOICES} strings")
            return tuple(sorted({_check_text(v, spec) for v in value}))
        return _check_text(value, spec)

    @field_validator("days")
    @classmethod
    def _days_for_activity(cls, days: int | None, info: ValidationInfo) -> int | None:
        spec = field_spec(info.data.get("field") or "")
        if spec is not None and spec.kind is Kind.ACTIVITY:
            if days is None:
                raise ValueError("required for activity counts (the window, in days)")
            if not 1 <= days <= MAX_ACTIVITY_DAYS:
                raise ValueError(f"must be between 1 and {MAX_ACTIVITY_DAYS}")
        elif days is not None:
            raise ValueError("only activity.<event type> conditions take days")
        return days

    @model_validator(mode="after")
    def _group_or_condition(self) -> Self:
        groups = (self.all is not None) + (self.any is not None)
        condition = self.field is not None or self.op is not None or self.value is not None
        if groups > 1:
            raise ValueError("a group has either all or any, not both")
        if groups and not self.items:
            raise ValueError("a group needs at least one rule")
        if groups and (condition or self.days is not None):
            raise ValueError("a group (all/any) takes no field, op, value or days")
        if not groups and (self.field is None or self.op is None):
            raise ValueError("give all/any (a group) or field and op (a condition)")
        if not groups and self.value is None and self.op not in MILESTONE_OPS:
            raise ValueError(f"{self.field} {self.op}: value is required")
        return self

    @property
    def items(self) -> tuple[Rule, ...]:
        """The group's rules (empty for a condition)."""
        return self.all or self.any or ()

    def conditions(self) -> list[Rule]:
        """Every condition of the rule, depth first."""
        if not self.items:
            return [self]
        return [c for item in self.items for c in item.conditions()]

    def depth(self) -> int:
        return 1 + max((item.depth() for item in self.items), default=0)


def check_size(rule: Rule) -> None:
    """Refuse a rule nested deeper than :data:`MAX_DEPTH` or with more than
    :data:`MAX_CONDITIONS` conditions (raises ``ValueError``, for a validator)."""
    if not rule.items:
        raise ValueError("must be a group: {all: [...]} or {any: [...]}")
    if rule.depth() > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} groups")
    if len(rule.conditions()) > MAX_CONDITIONS:
        raise ValueError(f"more than {MAX_CONDITIONS} conditions")


def milestone_refusals(
    rule: Rule, known: set[str], *, prefix: str = "rules"
) -> list[dict[str, str]]:
    """``{"field", "reason"}`` for each condition naming a milestone ``known`` lacks."""
    refusals: list[dict[str, str]] = []

    def walk(node: Rule, path: str) -> None:
        for name, items in (("all", node.all), ("any", node.any)):
            for i, item in enumerate(items or ()):
                walk(item, f"{path}.{name}.{i}")
        if node.field == "milestone" and node.value not in known:
            refusals.append(
                {"field": f"{path}.value", "reason": f"unknown milestone {node.value!r}"}
            )

    walk(rule, prefix)
    return refusals
