"""What the storage can hold, checked once for every write path (API, file import, CLI).

SQLite and PostgreSQL refuse different things, and PostgreSQL refuses them late, inside the
transaction, where one bad value fails the whole batch with a 500. So every write schema
validates against the strictest of the two:

- text: no NUL (PostgreSQL ``text`` and ``jsonb`` cannot hold ``\\u0000``) and no lone
  surrogate (``\\ud800`` is not Unicode text and cannot be encoded as UTF-8 for either
  driver); lengths as the columns declare them;
- integers within BIGINT (``jsonb`` would take bigger ones, but every reader of a property
  reads it into a 64-bit integer), money within :data:`MAX_AMOUNT_MINOR`;
- finite numbers only (``jsonb`` refuses NaN and Infinity; Python's ``json`` reads them);
- instants between :data:`EARLIEST` and :data:`LATEST`, and convertible to UTC
  (``0001-01-01T00:00:00+14:00`` is a valid ISO 8601 text whose UTC instant is before year 1);
- ``properties``: at most :data:`MAX_PROPERTY_DEPTH` levels, :data:`MAX_PROPERTY_KEYS` keys
  per object, :data:`MAX_PROPERTY_VALUES` values in all, :data:`MAX_PROPERTIES_BYTES` bytes
  of JSON.

Aggregates cannot overflow on accepted values: a batch holds at most a few tens of
thousands of events (the body limit), so its sum of amounts stays below
``MAX_AMOUNT_MINOR * 10**5 = 10**16``, far inside BIGINT (about ``9.2 * 10**18``); the
lifetime sums the rollups keep add such batch sums up, and those additions saturate at the
BIGINT bounds instead of failing (``activity/repository.py``), which could only happen
after some 92 million events of the largest amount for one supplier and event type.
"""

from __future__ import annotations

import json
import math
import re
import sys
import threading
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field
from pydantic_core import PydanticCustomError

BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1

MAX_AMOUNT_MINOR = 10**11
"""Largest money amount in minor units (1 billion pounds, dollars or euros; 100 billion yen)."""

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""No activity, signup or subscription of this product predates this instant."""
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
"""Exclusive upper bound for any stored instant (events are held to now + clock skew)."""

MAX_PROPERTY_DEPTH = 8
"""Nesting levels of ``properties``, the properties object itself being level 1."""
MAX_PROPERTY_KEYS = 64
"""Keys of any one object inside ``properties``."""
MAX_PROPERTY_VALUES = 512
"""Values (object members and list items, at every level) in one ``properties``."""
MAX_PROPERTY_KEY_LENGTH = 128
MAX_PROPERTY_TEXT_LENGTH = 2000
MAX_PROPERTIES_BYTES = 16 * 1024
"""Size of ``properties`` as compact UTF-8 JSON."""

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def safe_text(value: str, *, limit: int = 200) -> str:
    """``value`` made safe to echo in any response or terminal: NUL and lone surrogates are
    written as ``\\uXXXX`` escapes, and long values are cut to ``limit`` characters."""
    if len(value) > limit:
        value = value[:limit] + "…"
    return _UNSTORABLE.sub(_escape, value)


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or ``None`` when it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "contains a NUL character (\\u0000), which cannot be stored"
    return f"contains a lone surrogate ({_escape(found)}), which is not valid Unicode text"


def check_text(value: str) -> str:
    """A pydantic after-validator: ``value`` unchanged, or the reason it cannot be stored."""
    problem = text_problem(value)
    if problem is not None:
        raise PydanticCustomError("unstorable_text", problem)
    return value


STORED_TEXT_PATTERN = r"^[^\x00]*$"
"""The same rule for the API spec: no NUL. (A lone surrogate is not a Unicode character at all,
so no JSON Schema string holds one; the check refuses it all the same.)"""

StoredText = Annotated[
    str, AfterValidator(check_text), Field(json_schema_extra={"pattern": STORED_TEXT_PATTERN})
]
"""Text any backend can store (lengths are each field's own ``max_length``); the spec says so
with :data:`STORED_TEXT_PATTERN`, while the check itself gives the plain reason."""


def _instant_from_text(value: Any) -> Any:
    """Instants come as ISO 8601 text (or datetimes from Python callers), never as numbers:
    pydantic would read ``1e10`` as a Unix timestamp."""
    if isinstance(value, str | datetime):
        return value
    raise PydanticCustomError("instant_type", "must be an ISO 8601 date-time text with a time zone")


def _check_instant(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise PydanticCustomError(
            "instant_out_of_range",
            "must be between {earliest} and {latest} (UTC)",
            {"earliest": EARLIEST.date().isoformat(), "latest": LATEST.date().isoformat()},
        )
    return value


StoredInstant = Annotated[
    AwareDatetime, BeforeValidator(_instant_from_text), AfterValidator(_check_instant)
]
"""A timezone-aware instant between :data:`EARLIEST` and :data:`LATEST`."""


def _check_day(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise PydanticCustomError(
            "day_out_of_range",
            "must be between {earliest} and {latest}",
            {"earliest": EARLIEST.date().isoformat(), "latest": LATEST.date().isoformat()},
        )
    return value


StoredDay = Annotated[date, AfterValidator(_check_day)]
"""A calendar day (YYYY-MM-DD) in the same window as :data:`StoredInstant`."""


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(safe_text(p, limit=40) if isinstance(p, str) else str(p) for p in path)


def _scalar_problem(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        if BIGINT_MIN <= value <= BIGINT_MAX:
            return None
        return f"must be between {BIGINT_MIN} and {BIGINT_MAX} (a 64-bit integer)"
    if isinstance(value, float):
        return None if math.isfinite(value) else "must be a finite number, not NaN or Infinity"
    if isinstance(value, str):
        if len(value) > MAX_PROPERTY_TEXT_LENGTH:
            return f"is longer than {MAX_PROPERTY_TEXT_LENGTH} characters"
        return text_problem(value)
    return "is not a JSON value (text, number, true/false, null, list or object)"


def _key_problem(key: object) -> str | None:
    if not isinstance(key, str):
        return "the key is not text"
    if len(key) > MAX_PROPERTY_KEY_LENGTH:
        return f"the key is longer than {MAX_PROPERTY_KEY_LENGTH} characters"
    problem = text_problem(key)
    return None if problem is None else f"the key {problem}"


_WORST_BYTES_PER_CHAR = 6
"""A character costs at most 6 bytes of JSON (``\u001f``); with room to spare for the
punctuation around each value, this bounds the size without serialising it."""
_WORST_BYTES_PER_VALUE = 32


def _plainly_storable(value: dict[str, Any]) -> bool:
    """True for a flat object of text keys and plain scalars that is storable: nearly every
    event's properties, vouched for with a handful of C-level calls instead of a walk."""
    if len(value) > MAX_PROPERTY_KEYS:
        return False
    texts: list[str] = []
    for child in value.values():
        kind = type(child)
        if kind is str:
            texts.append(child)
        elif kind is int:
            if not BIGINT_MIN <= child <= BIGINT_MAX:
                return False
        elif kind is float:
            if not math.isfinite(child):
                return False
        elif kind is not bool and child is not None:
            return False
    try:
        keys = "".join(value)
    except TypeError:  # a key that is not text
        return False
    joined = keys + "".join(texts)
    return (
        _UNSTORABLE.search(joined) is None
        and max(map(len, value), default=0) <= MAX_PROPERTY_KEY_LENGTH
        and max(map(len, texts), default=0) <= MAX_PROPERTY_TEXT_LENGTH
        and len(joined) * _WORST_BYTES_PER_CHAR + (len(value) + 1) * _WORST_BYTES_PER_VALUE
        <= MAX_PROPERTIES_BYTES
    )


def _first_problem(value: dict[str, Any]) -> tuple[str, str] | None:
    """The full walk: every level, without recursion, so a value nested a thousand levels
    deep costs no more than :data:`MAX_PROPERTY_DEPTH` levels of work."""
    values = 0
    stack: list[tuple[object, tuple[str | int, ...], int]] = [(value, (), 1)]
    while stack:
        node, path, depth = stack.pop()
        if not isinstance(node, dict | list):
            problem = _scalar_problem(node)
            if problem is not None:
                return _dotted(path), problem
            continue
        if depth > MAX_PROPERTY_DEPTH:
            return _dotted(path), f"nests deeper than {MAX_PROPERTY_DEPTH} levels"
        values += len(node)
        if values > MAX_PROPERTY_VALUES:
            return _dotted(
                path
            ), f"holds too many values: properties hold at most {MAX_PROPERTY_VALUES} in all"
        if isinstance(node, list):
            stack.extend((child, (*path, i), depth + 1) for i, child in enumerate(node))
            continue
        if len(node) > MAX_PROPERTY_KEYS:
            return _dotted(path), f"has more than {MAX_PROPERTY_KEYS} keys"
        for key, child in node.items():
            problem = _key_problem(key)
            if problem is not None:
                return _dotted((*path, str(key))), problem
            stack.append((child, (*path, key), depth + 1))
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_PROPERTIES_BYTES:
        return "", f"is {size} bytes of JSON; at most {MAX_PROPERTIES_BYTES} are stored"
    return None


def json_problem(value: dict[str, Any]) -> tuple[str, str] | None:
    """The first part of a ``properties`` object that storage cannot hold, as
    (dotted path inside it, reason); ``None`` when all of it can be stored."""
    return None if _plainly_storable(value) else _first_problem(value)


def property_error(path: str, reason: str) -> PydanticCustomError:
    """An error about ``properties`` that carries the path inside them (``ctx["path"]``), so
    a batch report can name ``properties.a.b`` rather than just ``properties``."""
    return PydanticCustomError("unstorable_property", "{reason}", {"path": path, "reason": reason})


def _json_int(digits: str) -> int:
    """An integer of JSON text; one of 20 digits or more is outside BIGINT whatever its
    value, and reads as ``±10**19`` (also outside), so that the schema refuses the item
    holding it rather than Python refusing the whole body (it will not convert more than
    4,300 digits)."""
    if len(digits.lstrip("-")) < 20:
        return int(digits)
    return -(10**19) if digits.startswith("-") else 10**19


PARSER_HEADROOM = 1000
"""Extra recursion depth given to the JSON parser: a body nested about 1,000 levels deep is
still read, so the item holding the nesting is refused alone, by field; only deeper bodies
are refused whole."""
_PARSER_LIMIT_LOCK = threading.Lock()


def parse_json(text: str | bytes, *, what: str = "body") -> Any:
    """``json.loads`` that fails only with ``ValueError``, for any input.

    Python's parser recurses once per level and stops at the interpreter's recursion limit
    (raising ``RecursionError``, a 500 if nobody catches it); here the limit is raised by
    :data:`PARSER_HEADROOM` while parsing (under a lock, as the limit is process-wide) and
    a body deeper still is a ``ValueError`` like any other malformed input. NaN and Infinity
    are read as floats on purpose: the item holding them is then rejected alone, by field,
    by the schema (see :func:`json_problem`), instead of failing the whole body.
    """
    with _PARSER_LIMIT_LOCK:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(limit + PARSER_HEADROOM)
        try:
            return json.loads(text, parse_int=_json_int)
        except RecursionError:
            raise ValueError(f"the {what} nests too deeply") from None
        finally:
            sys.setrecursionlimit(limit)
