"""Opaque keyset-pagination cursors.

A cursor is the sort key of the last row a client saw, encoded so clients treat it as a token.
Keyset pagination keeps page N as fast as page 1 on 100K+ rows (no OFFSET scans).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from wedsync_success.kit.errors import ValidationFailed


def encode_cursor(values: list[Any]) -> str:
    """Encode the last row's sort values as an opaque token."""
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, *, field: str = "cursor") -> list[Any]:
    """Decode a token made by :func:`encode_cursor`, naming the field when it is malformed."""
    try:
        padded = token + "=" * (-len(token) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            "Malformed pagination cursor",
            details=[{"field": field, "reason": "not a valid cursor"}],
        ) from exc
    if not isinstance(values, list):
        raise ValidationFailed(
            "Malformed pagination cursor",
            details=[{"field": field, "reason": "not a valid cursor"}],
        )
    return values
