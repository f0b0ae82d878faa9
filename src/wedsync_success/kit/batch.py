"""Validating a batch item by item, so that good items survive their bad neighbours."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, field_validator
from pydantic_core import ErrorDetails

from wedsync_success.kit.limits import safe_text

ModelT = TypeVar("ModelT", bound=BaseModel)


class RejectedItem(BaseModel):
    """One item of a batch that was not accepted, and why.

    ``key``, ``field`` and ``reason`` may quote the bad input; NUL characters and lone
    surrogates in them are written as ``\\uXXXX`` escapes, so the report itself can always
    be sent as JSON (UTF-8) and printed.
    """

    index: int = Field(description="Position of the item in the submitted batch")
    key: str | None = Field(default=None, description="The item's own id, when it had one")
    field: str = Field(description="Dotted path of the offending field ('' for the whole item)")
    reason: str

    @field_validator("key", "field", "reason")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        return None if value is None else safe_text(value, limit=300)


_REASONS: dict[str, str] = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "list_type": "must be a list",
    "string_type": "must be text",
    "string_unicode": "is not valid Unicode text (it holds a lone surrogate)",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number, not NaN or Infinity",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "uuid_type": "must be a UUID",
    "uuid_parsing": "must be a UUID",
    "datetime_type": "must be an ISO 8601 date-time",
    "datetime_parsing": "must be an ISO 8601 date-time",
    "datetime_from_date_parsing": "must be an ISO 8601 date-time",
    "timezone_aware": "must include a time zone (Z or an offset such as +01:00)",
}
"""Plain words for pydantic's error types: its own messages name Python classes
("instance of EventIn") or carry prefixes ("Value error, ")."""


_ENUM_REPR = re.compile(r"<\w+\.\w+: '([^']*)'>")


def plain_reason(error: ErrorDetails) -> str:
    """A pydantic error as a short reason a client can act on, free of library wording."""
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if kind in _REASONS:
        return _REASONS[kind]
    if kind == "string_too_short":
        return "must not be empty" if ctx.get("min_length") == 1 else error["msg"]
    if kind == "string_too_long":
        return f"is longer than {ctx.get('max_length')} characters"
    if kind == "too_long":
        return f"has more than {ctx.get('max_length')} items"
    if kind == "string_pattern_mismatch":
        return f"must match the pattern {ctx.get('pattern')}"
    if kind in ("enum", "literal_error"):
        # Enum members in a Literal arrive as their repr: name them by value, as clients send.
        expected = _ENUM_REPR.sub(r"'\1'", str(ctx.get("expected")))
        return f"must be one of {expected}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return error["msg"].replace("Input should be", "must be")
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message.replace("Input should be", "must be")


def error_field(error: ErrorDetails, *, skip: int = 0) -> str:
    """The dotted path of a pydantic error, deeper than its first ``skip`` parts, extended
    by the path inside ``properties`` that :func:`~wedsync_success.kit.limits.property_error`
    carries."""
    parts = [str(p) for p in error["loc"][skip:] if p != "[key]"]
    inner = (error.get("ctx") or {}).get("path")
    if inner:
        parts.append(str(inner))
    return ".".join(parts)


def field_errors(errors: Sequence[ErrorDetails], *, skip: int = 0) -> list[dict[str, str]]:
    """Pydantic errors as ``{"field", "reason"}`` details, in plain words and safe to send."""
    return [
        {"field": safe_text(error_field(err, skip=skip)), "reason": safe_text(plain_reason(err))}
        for err in errors
    ]


def validate_each(
    model: type[ModelT], items: Sequence[Any], *, key_field: str
) -> tuple[list[tuple[int, ModelT]], list[RejectedItem]]:
    """Validate every item against ``model``; returns (index, item) pairs and rejections.

    The whole batch is validated in one call (pydantic's core is fast); only when something
    is wrong are the good items validated again without the bad ones.
    """
    adapter = TypeAdapter(list[model])  # type: ignore[valid-type]
    try:
        parsed: list[ModelT] = adapter.validate_python(list(items))
        return list(enumerate(parsed)), []
    except ValidationError as exc:
        rejected: dict[int, RejectedItem] = {}
        for err in exc.errors():
            index = int(err["loc"][0])
            if index not in rejected:
                item = items[index]
                key = item.get(key_field) if isinstance(item, dict) else None
                rejected[index] = RejectedItem(
                    index=index,
                    key=key if isinstance(key, str) else None,
                    field=error_field(err, skip=1),
                    reason=plain_reason(err),
                )
    good = [i for i in range(len(items)) if i not in rejected]
    parsed = adapter.validate_python([items[i] for i in good])
    return list(zip(good, parsed, strict=True)), [rejected[i] for i in sorted(rejected)]
