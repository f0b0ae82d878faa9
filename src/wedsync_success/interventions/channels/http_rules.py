"""What the HTTP channel adapters share: which answers are worth retrying, and safe headers."""

from __future__ import annotations

import re

from wedsync_success.interventions.channels.base import PermanentFailure

_HEADER_TOKEN = re.compile(r"[!-~]{1,200}")
"""Visible ASCII, no spaces: what an idempotency key must be to travel as a header value."""

REASON_TEXT_LIMIT = 200


def is_temporary_status(status_code: int) -> bool:
    """408, 429 and 5xx answers may succeed later; any other non-2xx answer will not."""
    return status_code in (408, 429) or status_code >= 500


def header_key(idempotency_key: str) -> str:
    """The key as a header value; a key no header can carry is a permanent failure."""
    if _HEADER_TOKEN.fullmatch(idempotency_key) is None:
        raise PermanentFailure(
            "the idempotency key must be 1-200 visible ASCII characters to be sent as a header"
        )
    return idempotency_key


def excerpt(text: str) -> str:
    """A provider's answer bounded and made printable, fit to quote in a failure reason."""
    shortened = text[:REASON_TEXT_LIMIT]
    printable = "".join(ch if ch.isprintable() else "?" for ch in shortened)
    return printable + ("…" if len(text) > REASON_TEXT_LIMIT else "")
