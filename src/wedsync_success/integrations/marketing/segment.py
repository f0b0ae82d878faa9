"""Success events in the Segment spec's own language: ``track`` and ``identify`` calls,
and their packing into ``/v1/batch`` requests within the spec's limits.

Segment (and RudderStack, Customer.io's Track API, Jitsu …) accept at most 32 KB per
message and 500 KB per batch request, and de-duplicate on ``messageId``; every message
here has a ``messageId`` derived from the success event it came from, so a resend after a
crash or a timeout is recognised by the collector.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from wedsync_success import __version__

MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_BATCH_MESSAGES = 2500
"""Far more than fit in 500 KB at realistic sizes; bounds a batch of tiny messages."""
LIBRARY = {"name": "wedsync-success", "version": __version__}
_ENVELOPE_BYTES = 200
"""Room kept in every batch for ``{"batch":[…],"sentAt":…,"context":…}``."""


def event_name(event_type: str) -> str:
    """A success event type as a Segment "Object Action" name:
    ``supplier.milestone_achieved`` → ``Milestone Achieved``, ``segment.entered`` →
    ``Segment Entered`` (the ``supplier.`` prefix says nothing in a supplier's stream)."""
    name = event_type.removeprefix("supplier.")
    return " ".join(word.capitalize() for word in name.replace(".", " ").replace("_", " ").split())


def track_message_id(event_id: uuid.UUID) -> str:
    return f"wedsync-{event_id}"


def identify_message_id(event_id: uuid.UUID, traits_hash: str) -> str:
    """Derived from the event that revealed the change and the traits, so a redelivered
    event asks for the same identify call."""
    return f"wedsync-identify-{event_id}-{traits_hash[:16]}"


def track(
    *,
    message_id: str,
    user_id: str,
    event: str,
    properties: Mapping[str, Any],
    timestamp: datetime,
) -> dict[str, Any]:
    return {
        "type": "track",
        "messageId": message_id,
        "userId": user_id,
        "event": event,
        "properties": dict(properties),
        "timestamp": timestamp.isoformat(),
        "context": {"library": LIBRARY},
    }


def identify(
    *, message_id: str, user_id: str, traits: Mapping[str, Any], timestamp: datetime
) -> dict[str, Any]:
    return {
        "type": "identify",
        "messageId": message_id,
        "userId": user_id,
        "traits": dict(traits),
        "timestamp": timestamp.isoformat(),
        "context": {"library": LIBRARY},
    }


def encode(message: Mapping[str, Any]) -> str:
    """Compact ASCII JSON, as sent (and measured against :data:`MAX_MESSAGE_BYTES`): lone
    surrogates travel as escapes instead of failing the encoding."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


def traits_hash(traits: Mapping[str, Any]) -> str:
    return hashlib.sha256(encode(dict(sorted(traits.items()))).encode()).hexdigest()


def pack(sizes: Sequence[int]) -> list[list[int]]:
    """Indexes of messages of ``sizes`` bytes grouped, in order, into batches that keep to
    the spec's limits (each message is at most :data:`MAX_MESSAGE_BYTES`)."""
    batches: list[list[int]] = []
    current: list[int] = []
    used = _ENVELOPE_BYTES
    for i, size in enumerate(sizes):
        if current and (used + size + 1 > MAX_BATCH_BYTES or len(current) >= MAX_BATCH_MESSAGES):
            batches.append(current)
            current, used = [], _ENVELOPE_BYTES
        current.append(i)
        used += size + 1
    if current:
        batches.append(current)
    return batches


def batch_body(messages: Sequence[str], *, sent_at: datetime) -> bytes:
    """The ``/v1/batch`` request body around already encoded messages."""
    head = '{"batch":[' + ",".join(messages) + "]"
    context = encode({"library": LIBRARY})
    tail = f',"sentAt":{json.dumps(sent_at.isoformat())},"context":{context}}}'
    return (head + tail).encode()
