"""Event roles: which of a product's event types play the parts the domain features know.

The churn model's domain features (logins, key actions, breadth of core features, failed
payments, support tickets, referrals, ...) are defined over *roles*, not over WedSync's event
names: ``defaults/event_roles.yaml`` maps every role to WedSync's current names, and another
product (or WedSync after a rename) maps its own. The same file configures the generic
per-event-type features (``churn.generic``). Validated at load: an unknown role, an event
type listed twice for one role, a role given twice, or a bad setting is a
:class:`~wedsync_success.kit.errors.ConfigError` naming the field.

Read once per process, at import of ``churn.windows`` (the feature store's table is built
from it): ``WEDSYNC_EVENT_ROLES_CONFIG`` points at another file.
"""

from __future__ import annotations

import enum
import functools
import os
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from wedsync_success.kit.errors import ConfigError

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "defaults" / "event_roles.yaml"
ENV_VAR = "WEDSYNC_EVENT_ROLES_CONFIG"
MAX_CORE_FEATURES = 8
"""The feature store keeps one breadth slot per core feature (its table's columns)."""


class Role(enum.StrEnum):
    LOGIN = "login"
    KEY_ACTION = "key_action"
    CORE_FEATURE = "core_feature"
    CLIENT_ADDED = "client_added"
    CLIENT_JOURNEY = "client_journey"
    ENQUIRY = "enquiry"
    INVOICE = "invoice"
    BILLING_FAILURE = "billing_failure"
    SUPPORT = "support"
    REFERRAL = "referral"
    REFERRAL_CONVERSION = "referral_conversion"
    SUPPORT_RESOLVED = "support_resolved"


ACTION_ROLES = frozenset({Role.SUPPORT_RESOLVED})
"""Roles that make the system act, not features: ``support_resolved`` (a support ticket
closed, which asks its user for a CSAT score). A file may leave them out (nothing is asked),
and their event types keep their generic features."""


EventType = str


class GenericSettings(BaseModel):
    """How the generic per-type vocabulary is chosen at training."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    top_event_types: int = Field(default=20, ge=0, le=200)
    skip_role_types: bool = True
    """Leave out of the most frequent types those a role already maps (their domain
    features cover them): another product's own names get generic features, WedSync's
    mapped ones do not pay twice. Listed types and the parts of ratios are always kept."""
    event_types: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    ratios: tuple[tuple[str, str], ...] = ()
    auto_ratios: int = Field(default=3, ge=0, le=50)

    @field_validator("ratios")
    @classmethod
    def _distinct_parts(cls, value: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        for i, (a, b) in enumerate(value):
            if a == b:
                raise ValueError(f"ratio {i} divides {a!r} by itself")
        if len(set(value)) != len(value):
            raise ValueError("a ratio is listed twice")
        return value


class EventRoles(BaseModel):
    """The validated roles file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1, le=1)
    roles: dict[Role, tuple[EventType, ...]]
    generic: GenericSettings = GenericSettings()

    @field_validator("roles")
    @classmethod
    def _no_duplicates(
        cls, value: dict[Role, tuple[EventType, ...]]
    ) -> dict[Role, tuple[EventType, ...]]:
        for role, types in value.items():
            for t in types:
                if not t or t != t.strip():
                    raise ValueError(f"{role.value}: event type {t!r} is empty or padded")
            seen = {t for t in types if types.count(t) > 1}
            if seen:
                raise ValueError(f"{role.value}: {', '.join(sorted(seen))} listed more than once")
        return value

    @model_validator(mode="after")
    def _complete(self) -> Self:
        missing = [r.value for r in Role if r not in self.roles and r not in ACTION_ROLES]
        if missing:
            raise ValueError(f"roles missing: {', '.join(missing)} (use [] for none)")
        if len(self.roles[Role.LOGIN]) > 1:
            raise ValueError("login maps to at most one event type (its days are counted)")
        if len(self.roles[Role.CORE_FEATURE]) > MAX_CORE_FEATURES:
            raise ValueError(
                f"core_feature lists {len(self.roles[Role.CORE_FEATURE])} event types; "
                f"the feature store has {MAX_CORE_FEATURES} slots"
            )
        return self

    def types(self, role: Role) -> tuple[EventType, ...]:
        return self.roles.get(role, ())

    @property
    def mapped(self) -> frozenset[EventType]:
        """Every event type some feature role maps (:data:`ACTION_ROLES` are not features)."""
        return frozenset(
            t for role, types in self.roles.items() if role not in ACTION_ROLES for t in types
        )


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping (YAML keeps the last)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, str | int | float | bool | None):
            continue  # unhashable: construct_mapping below refuses it as bad YAML
        if key in seen:
            raise ConfigError(
                f"{key!r} is given twice",
                details=[{"field": str(key), "reason": "duplicate mapping key"}],
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def parse_event_roles(text: str, *, source: str = "event roles") -> EventRoles:
    """Validate the YAML ``text`` of a roles file; errors name the file and the field."""
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc.message}", details=exc.details) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from exc
    try:
        return EventRoles.model_validate(raw)
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in err["loc"]), "reason": err["msg"]}
            for err in exc.errors()
        ]
        raise ConfigError(f"{source} does not match its schema", details=details) from exc


def load_event_roles(path: Path | None = None) -> EventRoles:
    """The roles file at ``path``, else ``$WEDSYNC_EVENT_ROLES_CONFIG``, else the defaults."""
    chosen = path or Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)
    try:
        text = chosen.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read config file {chosen}: {exc.strerror}") from exc
    return parse_event_roles(text, source=str(chosen))


@functools.cache
def current_roles() -> EventRoles:
    """The process's roles (read once): what ``churn.windows`` and the health file use."""
    return load_event_roles()


ROLE_PREFIX = "role:"


def expand_roles(event_types: Any) -> Any:
    """A list of event types where ``role:NAME`` entries stand for that role's types (in
    order, each type once): how the health file names event types through the roles."""
    if not isinstance(event_types, list):
        return event_types
    out: list[Any] = []
    for item in event_types:
        if isinstance(item, str) and item.startswith(ROLE_PREFIX):
            name = item.removeprefix(ROLE_PREFIX)
            try:
                role = Role(name)
            except ValueError:
                known = ", ".join(r.value for r in Role)
                raise ValueError(f"unknown role {name!r} (known: {known})") from None
            out.extend(current_roles().types(role))
        else:
            out.append(item)
    return list(dict.fromkeys(out))
