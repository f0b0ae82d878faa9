"""Whatever a Redis stream entry holds, reading it never raises: an entry this code did not
write is skipped (and then acknowledged), and an event it wrote reads back as it was."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from wedsync_success.events.redis_transport import FIELD, read_entries
from wedsync_success.events.types import SuccessEvent

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
junk_fields = st.one_of(
    st.dictionaries(st.text(max_size=8), st.text(max_size=40), max_size=4),
    st.builds(lambda t: {FIELD: t}, st.text(max_size=80)),
    st.builds(lambda v: {FIELD: json.dumps(v)}, json_values),
    st.builds(
        lambda v: {FIELD: json.dumps({"sequence": v, "event_id": v, "type": v, "payload": v})},
        json_values,
    ),
)
events = st.builds(
    SuccessEvent,
    sequence=st.integers(min_value=1, max_value=2**63 - 1),
    event_id=st.uuids(),
    event_type=st.text(min_size=1, max_size=64),
    supplier_id=st.none() | st.uuids(),
    occurred_at=st.datetimes(timezones=st.just(UTC), min_value=datetime(2000, 1, 1)),
    payload=st.dictionaries(st.text(max_size=10), json_values, max_size=4),
)


@settings(max_examples=400, deadline=None)
@given(junk_fields)
def test_any_entry_reads_without_raising(fields: dict[str, str]) -> None:
    [(stream, entry_id, event)] = read_entries([["s:0", [("1-0", fields)]]])
    assert (stream, entry_id) == ("s:0", "1-0")
    assert event is None or isinstance(event.event_id, uuid.UUID)


@settings(max_examples=300, deadline=None)
@given(events)
def test_an_event_reads_back_as_it_was_written(event: SuccessEvent) -> None:
    fields = {FIELD: json.dumps(event.to_json(), separators=(",", ":"))}
    [(_, _, read)] = read_entries([["s:0", [("1-0", fields)]]])
    assert read == event
