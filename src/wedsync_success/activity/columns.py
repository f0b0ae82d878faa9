"""Events as columns, and the fast path that validates plain events a column at a time.

The event schema (:class:`~wedsync_success.activity.schemas.EventIn`) costs a few
microseconds per event in pydantic, and turning each model back into the storage's columns
as much again: most of an import of history. Nearly every event of an export is *plain*:
an ASCII ``event_id``, a ``supplier_id`` in the canonical 8-4-4-4-12 form, a simple ``type``,
an ``occurred_at`` like ``2024-01-31T09:15:00.123+01:00`` and flat properties. For those
this module decides a whole column with one regular expression over the column joined by
newlines, converts it with C-level ``map`` calls (``datetime.fromisoformat``, one
``uuid.UUID`` per distinct supplier) and checks bounds with ``min``/``max``.

The fast path only ever *accepts*: an item it cannot vouch for (any other spelling of a
UUID or an instant, an ``event_id`` with spaces or non-ASCII text, ``supplier_external_id``,
a value out of range, a field the schema does not know) is handed to the schema, which
accepts it or rejects it with its own field and reason. So rejections are the schema's by
construction, and what the fast path accepts is a subset of what the schema accepts, with
the same values (tests/activity/test_fast_path.py proves both with hypothesis).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from wedsync_success.activity.schemas import EventIn, properties_problem
from wedsync_success.kit.columns import (
    INSTANT,
    TextColumn,
    column_getter,
    read_instants,
    refuse,
)


@dataclass
class EventColumns:
    """Valid events, one list per field, aligned; ``index`` is each one's place in its batch."""

    index: list[int] = field(default_factory=list)
    event_id: list[str] = field(default_factory=list)
    supplier_id: list[uuid.UUID | None] = field(default_factory=list)
    supplier_external_id: list[str | None] = field(default_factory=list)
    user_id: list[uuid.UUID | None] = field(default_factory=list)
    type: list[str] = field(default_factory=list)
    occurred_at: list[datetime] = field(default_factory=list)
    """As given (its own offset); storage converts to UTC."""
    properties: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.index)

    def take(self, positions: Sequence[int]) -> EventColumns:
        """The events at ``positions`` (into these columns), in that order."""
        return EventColumns(
            **{f.name: list(map(getattr(self, f.name).__getitem__, positions)) for f in _FIELDS}
        )

    def models(self, positions: Iterable[int]) -> list[EventIn]:
        """The events at ``positions`` as schema models (already valid: not validated again)."""
        return [
            EventIn.model_construct(**{f.name: getattr(self, f.name)[n] for f in _MODEL_FIELDS})
            for n in positions
        ]

    @classmethod
    def of_models(cls, events: Sequence[tuple[int, EventIn]]) -> EventColumns:
        """Validated models (with their index) as columns."""
        return cls(
            index=[index for index, _ in events],
            **{f.name: [getattr(e, f.name) for _, e in events] for f in _MODEL_FIELDS},
        )

    @classmethod
    def concat(cls, parts: Sequence[EventColumns]) -> EventColumns:
        """The events of ``parts`` together, in ``index`` order."""
        filled = [p for p in parts if len(p)]
        if len(filled) <= 1:
            return filled[0] if filled else cls()
        whole = cls(**{f.name: [v for p in parts for v in getattr(p, f.name)] for f in _FIELDS})
        order = sorted(range(len(whole)), key=whole.index.__getitem__)
        return whole.take(order)


_FIELDS = fields(EventColumns)
_MODEL_FIELDS = [f for f in _FIELDS if f.name != "index"]
_KNOWN_KEYS = frozenset(EventIn.model_fields)

_EVENT_ID = "[!-~]{1,128}"
"""Printable ASCII without spaces: nothing for the schema to strip or refuse."""
_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_TYPE = "[a-z][a-z0-9_.]{0,63}"

_uuid = functools.lru_cache(maxsize=1 << 16)(uuid.UUID)
"""``uuid.UUID`` of a text, remembered: an import names the same suppliers batch after batch,
and building a UUID object cost more than validating the rest of the event."""
_EVENT_IDS = TextColumn.of(_EVENT_ID)
_UUIDS = TextColumn.of(_UUID)
_TYPES = TextColumn.of(_TYPE)
_INSTANTS = TextColumn.of(INSTANT)


@dataclass
class FastSplit:
    """A batch split in two: what the fast path accepted, and the items left to the schema."""

    accepted: EventColumns
    deferred: list[int]
    """Indexes of the items the schema must judge."""


def split_plain(items: Sequence[Any]) -> FastSplit:
    """Accept the plain events of ``items`` column by column (see the module note)."""
    n = len(items)
    if not n:
        return FastSplit(EventColumns(), [])
    ok = [True] * n
    if set(map(type, items)) != {dict}:
        ok = [type(item) is dict for item in items]
        kept = [i for i in range(n) if ok[i]]
        inner = split_plain([items[i] for i in kept])
        inner.accepted.index = [kept[i] for i in inner.accepted.index]
        deferred = sorted({i for i in range(n) if not ok[i]} | {kept[i] for i in inner.deferred})
        return FastSplit(inner.accepted, deferred)
    if not set().union(*items) <= _KNOWN_KEYS:
        refuse(ok, [set(item) <= _KNOWN_KEYS for item in items])
    get = column_getter(items)
    event_id, supplier_id, user_id = get("event_id"), get("supplier_id"), get("user_id")
    event_type, occurred_at = get("type"), get("occurred_at")
    properties = get("properties", {})
    refuse(ok, _EVENT_IDS.plain(event_id))
    refuse(ok, _UUIDS.plain(supplier_id))
    if any(map(_is_set, get("supplier_external_id"))):  # named by external id: the schema's
        refuse(ok, [v is None for v in get("supplier_external_id")])
    if any(map(_is_set, user_id)):
        refuse(ok, [v is None or m for v, m in zip(user_id, _UUIDS.each(user_id), strict=True)])
    refuse(ok, _TYPES.plain(event_type))
    refuse(ok, _INSTANTS.plain(occurred_at))
    refuse(ok, [type(p) is dict and (not p or properties_problem(p) is None) for p in properties])
    positions = [i for i in range(n) if ok[i]] if not all(ok) else range(n)
    texts = [occurred_at[i] for i in positions]
    moments, storable = read_instants(texts)
    kept = [p for p, good in zip(positions, storable, strict=True) if good]
    moments = [m for m, good in zip(moments, storable, strict=True) if good]
    accepted = EventColumns(
        index=list(kept),
        event_id=[event_id[i] for i in kept],
        supplier_id=list(map(_uuid, [supplier_id[i] for i in kept])),
        supplier_external_id=[None] * len(kept),
        user_id=[None if user_id[i] is None else _uuid(user_id[i]) for i in kept],
        type=[event_type[i] for i in kept],
        occurred_at=moments,
        properties=[properties[i] for i in kept],
    )
    taken = set(kept)
    return FastSplit(accepted, [i for i in range(n) if i not in taken])


def _is_set(value: Any) -> bool:
    return value is not None
