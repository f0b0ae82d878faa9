"""Opaque keyset-pagination cursors.

A cursor is the sort key of the last row a client saw, encoded so clients treat it as a token.
Keyset pagination keeps page N as fast as page 1 on 100K+ rows (no OFFSET scans).

A cursor comes back from the client, so it is input like any other: :func:`decode_cursor`
bounds its size and checks it has exactly the shape the listing encodes (a value of each
expected type, in order), naming the parameter when it does not.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from collections.abc import Sequence
from typing import Any

from wedsync_success.kit.errors import ValidationFailed

MAX_CURSOR_CHARS = 2048
"""Longer than any cursor a listing makes (a 200-character name and a UUID), far below 40 KB."""


CursorPart = type[float] | type[int] | type[str] | type[uuid.UUID]
"""The type of one value in a cursor: a JSON number, an integer, a string, or a UUID as text."""


def encode_cursor(values: list[Any]) -> str:
    """Encode the last row's sort values as an opaque token."""
    raw = json.dumps(values, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid(field: str, reason: str) -> ValidationFailed:
    return ValidationFailed(
        f"Malformed pagination cursor ({field}): {reason}",
        details=[{"field": field, "reason": reason}],
    )


def _part(value: Any, expected: CursorPart) -> Any:
    """``value`` as ``expected``, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if expected is float:
        if isinstance(value, int | float) and math.isfinite(value):
            return float(value)
    elif expected is int:
        if isinstance(value, int) and -(2**63) <= value < 2**63:
            return value
    elif expected is str:
        if isinstance(value, str) and "\x00" not in value:
            return value
    elif expected is uuid.UUID and isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            return None
    return None


def decode_cursor(token: str, *, shape: Sequence[CursorPart], field: str = "cursor") -> list[Any]:
    """Decode a token made by :func:`encode_cursor` whose values have the types in ``shape``.

    Anything else (too long, not base64, not JSON, not a list of that length, a value of the
    wrong type or out of range) is a :class:`ValidationFailed` naming ``field``.
    """
    if len(token) > MAX_CURSOR_CHARS:
        raise _invalid(field, f"longer than {MAX_CURSOR_CHARS} characters")
    try:
        padded = token + "=" * (-len(token) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii"))
        values = json.loads(raw)
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        raise _invalid(field, "not a cursor this API made") from None
    if not isinstance(values, list) or len(values) != len(shape):
        raise _invalid(field, "not a cursor this API made")
    decoded = []
    for position, (value, expected) in enumerate(zip(values, shape, strict=True)):
        part = _part(value, expected)
        if part is None:
            raise _invalid(field, f"value {position} is not a valid {expected.__name__}")
        decoded.append(part)
    return decoded
