"""The columnar fast path of event validation decides exactly as the event schema does.

:func:`parse_batch` validates plain events a column at a time and hands the rest to the
schema (``activity/columns.py``). Here hypothesis builds batches of events that are plain,
nearly plain or hostile in any field (NUL, lone surrogates, huge integers, NaN, impossible
dates, odd offsets, other spellings of UUIDs and instants, naive times read in a
``--timezone``) and checks, batch by batch, that the result is the schema's own: the same
events accepted with the same values, the same items rejected with the same field and
reason, the same duplicates.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.strategies import edge_ints, hostile_text, json_text, long_text
from wedsync_success.activity.columns import EventColumns, split_plain
from wedsync_success.activity.importer import in_zone
from wedsync_success.activity.schemas import EventIn
from wedsync_success.activity.validation import MAX_CLOCK_SKEW, ParsedBatch, parse_batch
from wedsync_success.kit.batch import RejectedItem, validate_each
from wedsync_success.kit.limits import parse_json

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SUPPLIER = "0b7e4f3c-9a51-4d6e-8f2a-3c1d5e7f9a0b"


def schema_only(items: list[Any], *, now: datetime) -> ParsedBatch:
    """What :func:`parse_batch` did before the fast path: the schema for every item."""
    valid, rejected = validate_each(EventIn, items, key_field="event_id")
    result = ParsedBatch(rejected=rejected)
    seen: set[str] = set()
    kept: list[tuple[int, EventIn]] = []
    for index, event in valid:
        if event.occurred_at > now + MAX_CLOCK_SKEW:
            result.rejected.append(
                RejectedItem(
                    index=index,
                    key=event.event_id,
                    field="occurred_at",
                    reason=f"is more than {MAX_CLOCK_SKEW.seconds // 60} minutes in the future",
                )
            )
        elif event.event_id in seen:
            result.duplicates_in_batch += 1
        else:
            seen.add(event.event_id)
            kept.append((index, event))
    result.rejected.sort(key=lambda item: item.index)
    result.valid = EventColumns.of_models(kept)
    return result


def comparable(parsed: ParsedBatch) -> dict[str, Any]:
    v = parsed.valid
    return {
        "rejected": [(r.index, r.key, r.field, r.reason) for r in parsed.rejected],
        "duplicates": parsed.duplicates_in_batch,
        "index": v.index,
        "event_id": v.event_id,
        "supplier_id": v.supplier_id,
        "supplier_external_id": v.supplier_external_id,
        "user_id": v.user_id,
        "type": v.type,
        # The same instant with the same offset (the tzinfo classes differ: pydantic's own).
        "occurred_at": [(at.astimezone(UTC), at.utcoffset()) for at in v.occurred_at],
        "properties": [json.dumps(p, sort_keys=True, default=repr) for p in v.properties],
    }


uuids = st.uuids().map(str)
supplier_ids = st.one_of(
    st.just(SUPPLIER),
    uuids,
    uuids.map(str.upper),
    uuids.map(lambda u: u.replace("-", "")),
    uuids.map(lambda u: "{" + u + "}"),
    uuids.map(lambda u: "urn:uuid:" + u),
    uuids.map(lambda u: f" {u} "),
    uuids.map(lambda u: u[:-1] + "g"),
    uuids.map(lambda u: f"{u}\n{u}"),  # two ids in one: must not read as two plain values
    hostile_text,
    st.integers(),
    st.none(),
)
event_ids = st.one_of(
    st.sampled_from(["e1", "e2", "e3", "ev-0001"]),  # repeats: duplicates within a batch
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=8),
    hostile_text,
    long_text,
    st.sampled_from(["", " ", " e1", "e1\n", "e1\ne2", "x" * 128, "x" * 129, "é"]),
    st.integers(),
)
types = st.one_of(
    st.sampled_from(["login", "page.viewed", "a", "x" * 64, "x" * 65, "Login", "1a", "a-b"]),
    st.from_regex(r"[a-z][a-z0-9_.]{0,70}", fullmatch=True),
    st.sampled_from([" login", "login\n", "login\nlogin", "login ", ""]),
    hostile_text,
    st.integers(),
)
OFFSETS = ["Z", "+00:00", "-00:00", "+01:00", "+05:45", "-09:30", "+14:00", "-23:59", "+24:00"]
OFFSETS += ["+0100", "+01", "+01:00:30", "-12:60", ""]
moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2110, 1, 1))
instants = st.one_of(
    st.builds(
        lambda at, offset, sep, digits: at.isoformat(sep=sep, timespec=digits) + offset,
        moments,
        st.sampled_from(OFFSETS),
        st.sampled_from(["T", "T", " ", "t"]),
        st.sampled_from(["seconds", "milliseconds", "microseconds", "minutes", "auto"]),
    ),
    st.builds(  # fractions of any length, 1 to 8 digits
        lambda at, digits, offset: f"{at:%Y-%m-%dT%H:%M:%S}.{digits}{offset}",
        moments,
        st.from_regex(r"[0-9]{1,8}", fullmatch=True),
        st.sampled_from(OFFSETS),
    ),
    st.sampled_from(
        [
            "2024-02-29T10:00:00Z",
            "2023-02-29T10:00:00Z",
            "2024-04-31T10:00:00+01:00",
            "2000-01-01T00:30:00+01:00",
            "2000-01-01T00:00:00Z",
            "2099-12-31T23:59:59-23:59",
            "2100-01-01T00:00:00Z",
            "1999-12-31T23:59:59.999999Z",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "2024-01-01T10:00:00.1234567Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T10:00:60Z",
            "2026-06-01T12:05:00Z",
            "2026-06-01T12:05:00.000001Z",
            "2024-W01-1T10:00:00Z",
            "20240101T100000Z",
            "2024-03-31T01:30:00",
            "2024-10-27T01:30:00",
            "1900-01-01T00:00:00",
        ]
    ),
    hostile_text,
    st.integers(),
    st.floats(),
)
amounts = st.one_of(edge_ints, st.integers(), st.floats(), st.booleans(), hostile_text)


def _properties(text: str) -> Any:
    try:
        return parse_json(text)
    except ValueError:
        return {}


properties = st.one_of(
    st.just({}),
    st.dictionaries(
        st.sampled_from(["channel", "method", "plan_tier", "reason"]), st.text(max_size=6)
    ),
    st.builds(lambda a: {"amount": a, "method": "card"}, amounts),
    json_text.map(_properties),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "event_id": event_ids,
    "supplier_id": supplier_ids,
    "supplier_external_id": st.sampled_from(["cus_1", "", "a/b", None]),
    "user_id": st.one_of(st.none(), uuids, hostile_text),
    "type": types,
    "occurred_at": instants,
    "properties": properties,
}
PLAIN = {
    "event_id": "e1",
    "supplier_id": SUPPLIER,
    "type": "login",
    "occurred_at": "2024-01-01T10:00:00+01:00",
}


@st.composite
def items(draw: st.DrawFn) -> Any:
    """A plain event with some of its fields replaced, left out or added to."""
    item: dict[str, Any] = dict(PLAIN)
    for name in draw(st.sets(st.sampled_from(sorted(FIELDS)), max_size=3)):
        item[name] = draw(FIELDS[name])
    for name in draw(st.sets(st.sampled_from(sorted(item)), max_size=1)):
        del item[name]
    if draw(st.integers(0, 20)) == 0:
        item["extra"] = 1
    if draw(st.integers(0, 30)) == 0:
        return draw(st.sampled_from([None, [], "event", 3]))
    return item


batches = st.lists(items(), max_size=8)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches)
def test_the_fast_path_decides_every_batch_as_the_schema_does(batch: list[Any]) -> None:
    assert comparable(parse_batch(batch, now=NOW)) == comparable(schema_only(batch, now=NOW))


ZONES = ["Europe/London", "America/St_Johns", "Asia/Kathmandu", "Pacific/Kiritimati"]
ZONES += ["Europe/Amsterdam", "UTC"]  # Amsterdam: offsets in seconds before 1937


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches, st.sampled_from(ZONES))
def test_naive_times_read_in_a_zone_are_decided_as_the_schema_does(
    batch: list[Any], zone: str
) -> None:
    local = [in_zone(item, ZoneInfo(zone)) for item in batch]
    assert comparable(parse_batch(local, now=NOW)) == comparable(schema_only(local, now=NOW))


def test_plain_events_take_the_fast_path_and_the_others_go_to_the_schema() -> None:
    plain = [
        {**PLAIN, "event_id": f"e{n}", "properties": {"amount": n} if n % 2 else {}}
        for n in range(50)
    ]
    odd = [
        {**PLAIN, "supplier_id": SUPPLIER.upper().replace("-", "")},  # the schema reads it
        {**PLAIN, "occurred_at": "2024-01-01 10:00:00Z"},
        {**PLAIN, "event_id": "café"},
        {**PLAIN, "supplier_id": None, "supplier_external_id": "cus_1"},
        {**PLAIN, "properties": {"amount": 1.5}},
        {**PLAIN, "occurred_at": "2024-02-30T10:00:00Z"},
        {**PLAIN, "occurred_at": "1999-12-31T23:30:00-00:00"},
    ]
    split = split_plain(plain + odd)
    assert split.accepted.index == list(range(50))
    assert split.deferred == list(range(50, 57))
    assert split.accepted.supplier_id[0] == uuid.UUID(SUPPLIER)
    assert split.accepted.occurred_at[0].utcoffset() == timedelta(hours=1)
    assert split.accepted.properties[1] == {"amount": 1}
