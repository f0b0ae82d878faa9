"""POST /api/v1/events with input the storage cannot hold: each bad item is refused alone,
by field and reason, the good items of the batch are stored, and nothing answers 500.

Bodies are written as raw JSON text: NaN, Infinity and lone surrogates cannot be produced by
a well-behaved JSON encoder, and an attacker does not use one.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier
from wedsync_success.activity.models import ActivityEvent, DailyRollup, SupplierEventTotal
from wedsync_success.context import AppContext
from wedsync_success.kit.limits import BIGINT_MAX, BIGINT_MIN, MAX_AMOUNT_MINOR

LIBRARY_WORDING = ("Value error", "instance of", "pydantic", "Input should", "errors.pydantic")


async def post_raw(client: httpx.AsyncClient, body: str) -> httpx.Response:
    """Send ``body`` as it is (ASCII JSON text: escapes such as ``\\ud800`` stay escapes)."""
    return await client.post(
        "/api/v1/events", content=body.encode(), headers={"content-type": "application/json"}
    )


def raw_batch(*items: str) -> str:
    return '{"events": [' + ", ".join(items) + "]}"


def as_json(item: dict[str, Any]) -> str:
    return json.dumps(item)  # ensure_ascii: NUL and surrogates become \\u escapes


async def stored_ids(ctx: AppContext) -> set[str]:
    async with ctx.db.sessions() as session:
        return set(await session.scalars(select(ActivityEvent.event_id)))


def reasons_of(response: httpx.Response) -> dict[int, tuple[str, str]]:
    assert response.status_code == 200, response.text
    errors = response.json()["errors"]
    for error in errors:
        assert not any(w in error["reason"] for w in LIBRARY_WORDING), error
    return {e["index"]: (e["field"], e["reason"]) for e in errors}


async def test_nul_in_a_value_a_key_or_the_event_id_is_refused_alone(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    when = clock.now - timedelta(hours=1)
    good = event(sid, "login", when)
    response = await post_raw(
        client,
        raw_batch(
            as_json(good),
            as_json(event(sid, "feature_used", when, properties={"feature": "cal\u0000endar"})),
            as_json(event(sid, "feature_used", when, properties={"fea\u0000ture": "x"})),
            as_json(event(sid, "login", when, event_id="evt-\u0000-1")),
            as_json(event(sid, "feature_used", when, properties={"a": {"b": ["ok", "\u0000"]}})),
        ),
    )
    reasons = reasons_of(response)
    assert response.json()["accepted"] == 1
    assert reasons[1] == (
        "properties.feature",
        "contains a NUL character (\\u0000), which cannot be stored",
    )
    assert reasons[2][0] == "properties.fea\\u0000ture"
    assert reasons[2][1].startswith("the key contains a NUL character")
    assert reasons[3][0] == "event_id"
    assert "NUL" in reasons[3][1]
    assert reasons[4][0] == "properties.a.b.1"
    keys = {e["index"]: e["key"] for e in response.json()["errors"]}
    assert keys[3] == "evt-\\u0000-1"  # echoed, escaped: the response itself stays valid JSON
    assert await stored_ids(ctx) == {good["event_id"]}


async def test_a_lone_surrogate_anywhere_is_refused_and_the_answer_is_still_json(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    when = clock.now - timedelta(hours=1)
    good = event(sid, "login", when)
    response = await post_raw(
        client,
        raw_batch(
            as_json(event(sid, "login", when, event_id="evt-\ud800")),
            as_json(good),
            as_json(event(sid, "feature_used", when, properties={"note": "x\udfff"})),
            as_json(event(sid, "feature_used", when, properties={"\ud83d": 1})),
            # an unknown supplier with a surrogate-laden id: the echo must not break the answer
            as_json(event("not-a-uuid-\ud800", "login", when)),
        ),
    )
    reasons = reasons_of(response)
    assert response.json()["accepted"] == 1
    assert reasons[0][0] == "event_id"
    assert "surrogate" in reasons[0][1]
    assert reasons[2] == (
        "properties.note",
        "contains a lone surrogate (\\udfff), which is not valid Unicode text",
    )
    assert reasons[3][0] == "properties.\\ud83d"
    assert reasons[4][0] == "supplier_id"
    assert await stored_ids(ctx) == {good["event_id"]}


async def test_deep_nesting_is_refused_without_a_stack_overflow(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    when = clock.now - timedelta(hours=1)
    good = event(sid, "login", when)
    deep = event(sid, "feature_used", when, event_id="deep")
    deep_text = as_json(deep).replace(
        '"properties": {}', '"properties": ' + '{"a": ' * 990 + "1" + "}" * 990
    )
    eight = {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}  # level 8 with properties itself
    kept = event(sid, "feature_used", when, properties=eight)
    response = await post_raw(client, raw_batch(deep_text, as_json(good), as_json(kept)))
    reasons = reasons_of(response)
    assert reasons == {0: ("properties.a.a.a.a.a.a.a.a", "nests deeper than 8 levels")}
    assert await stored_ids(ctx) == {good["event_id"], kept["event_id"]}


async def test_a_body_nested_past_the_parser_is_a_422(client: httpx.AsyncClient) -> None:
    response = await post_raw(client, "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"field": "body", "reason": "the body nests too deeply"}
    ]


@pytest.mark.parametrize(
    "amount",
    [2**70, BIGINT_MAX, BIGINT_MIN, MAX_AMOUNT_MINOR + 1, -MAX_AMOUNT_MINOR - 1, 9.5, "4900", True],
)
async def test_amounts_outside_the_business_bound_are_refused(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, amount: object
) -> None:
    sid = await create_supplier(client)
    bad = event(sid, "payment_received", clock.now - timedelta(hours=1))
    bad["properties"] = {"amount": amount}
    reasons = reasons_of(await post_raw(client, raw_batch(as_json(bad))))
    assert reasons[0][0] == "properties.amount"
    assert f"between -{MAX_AMOUNT_MINOR} and {MAX_AMOUNT_MINOR}" in reasons[0][1]
    assert await stored_ids(ctx) == set()


async def test_the_largest_amounts_are_stored(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    when = clock.now - timedelta(hours=1)
    batch = [
        event(sid, "payment_received", when, properties={"amount": MAX_AMOUNT_MINOR}),
        event(sid, "payment_received", when, properties={"amount": -MAX_AMOUNT_MINOR}),
        event(sid, "payment_received", when, properties={"amount": MAX_AMOUNT_MINOR}),
    ]
    response = await client.post("/api/v1/events", json=batch)
    assert response.json()["accepted"] == 3, response.text
    async with ctx.db.sessions() as session:
        total = await session.scalar(select(SupplierEventTotal.value_sum))
    assert total == MAX_AMOUNT_MINOR


async def test_an_amount_of_bigint_max_cannot_poison_the_suppliers_later_payments(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    """Once accepted, 2^63-1 made every later payment fail with "bigint out of range"."""
    sid = await create_supplier(client)
    when = clock.now - timedelta(hours=2)
    poison = event(sid, "payment_received", when, properties={"amount": BIGINT_MAX})
    assert (await client.post("/api/v1/events", json=[poison])).json()["rejected"] == 1
    normal = event(sid, "payment_received", when, properties={"amount": 4900})
    response = await client.post("/api/v1/events", json=[normal])
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    async with ctx.db.sessions() as session:
        assert await session.scalar(select(SupplierEventTotal.value_sum)) == 4900
        assert await session.scalar(select(DailyRollup.value_sum)) == 4900


@pytest.mark.parametrize(
    ("start", "added", "held"),
    [(BIGINT_MAX - 10, 4900, BIGINT_MAX), (BIGINT_MIN + 10, -4900, BIGINT_MIN)],
)
async def test_sums_already_near_the_bigint_bounds_saturate_instead_of_failing(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, start: int, added: int, held: int
) -> None:
    """Totals stored before the amount bound existed (or summed over tens of millions of
    the largest payments) stay at the bound: ingest keeps working."""
    sid = await create_supplier(client)
    when = clock.now - timedelta(hours=2)
    first = event(sid, "payment_received", when, properties={"amount": 1})
    await client.post("/api/v1/events", json=[first])
    async with ctx.db.transaction() as session:
        await session.execute(update(SupplierEventTotal).values(value_sum=start))
        await session.execute(update(DailyRollup).values(value_sum=start))
    later = event(sid, "payment_received", when, properties={"amount": added})
    response = await client.post("/api/v1/events", json=[later])
    assert response.json()["accepted"] == 1, response.text
    async with ctx.db.sessions() as session:
        assert await session.scalar(select(SupplierEventTotal.value_sum)) == held
        assert await session.scalar(select(DailyRollup.value_sum)) == held
        assert await session.scalar(select(SupplierEventTotal.count)) == 2


async def test_an_integer_of_thousands_of_digits_costs_only_its_item(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    """Python will not read more than 4,300 digits and would refuse the whole body."""
    sid = await create_supplier(client)
    when = clock.now - timedelta(hours=1)
    good = event(sid, "login", when)
    huge = as_json(event(sid, "payment_received", when)).replace(
        '"properties": {}', '"properties": {"amount": ' + "9" * 5000 + "}"
    )
    deep_huge = as_json(event(sid, "feature_used", when)).replace(
        '"properties": {}', '"properties": {"n": [-' + "1" * 5000 + "]}"
    )
    reasons = reasons_of(await post_raw(client, raw_batch(huge, as_json(good), deep_huge)))
    assert reasons[0][0] == "properties.amount"
    assert reasons[2] == (
        "properties.n.0",
        f"must be between {BIGINT_MIN} and {BIGINT_MAX} (a 64-bit integer)",
    )
    assert await stored_ids(ctx) == {good["event_id"]}


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_nan_and_infinity_in_raw_json_are_refused_per_item(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, literal: str
) -> None:
    sid = await create_supplier(client)
    when = clock.now - timedelta(hours=1)
    good = event(sid, "login", when)
    in_property = as_json(event(sid, "feature_used", when)).replace(
        '"properties": {}', '"properties": {"score": [1, ' + literal + "]}"
    )
    in_amount = as_json(event(sid, "payment_received", when)).replace(
        '"properties": {}', '"properties": {"amount": ' + literal + "}"
    )
    as_time = as_json(event(sid, "login", when)).replace(
        f'"occurred_at": "{when.isoformat()}"', f'"occurred_at": {literal}'
    )
    response = await post_raw(client, raw_batch(in_property, as_json(good), in_amount, as_time))
    reasons = reasons_of(response)
    assert reasons[0] == ("properties.score.1", "must be a finite number, not NaN or Infinity")
    assert reasons[2][0] == "properties.amount"
    assert reasons[3] == ("occurred_at", "must be an ISO 8601 date-time text with a time zone")
    assert await stored_ids(ctx) == {good["event_id"]}


@pytest.mark.parametrize(
    "occurred_at",
    [
        "0001-01-01T00:00:00+14:00",  # overflowed on conversion to UTC
        "9999-12-31T23:59:59-14:00",
        "1999-12-31T23:59:59+00:00",
        "0001-01-01T00:00:00Z",
    ],
)
async def test_instants_outside_the_window_are_refused(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, occurred_at: str
) -> None:
    sid = await create_supplier(client)
    good = event(sid, "login", clock.now - timedelta(hours=1))
    bad = event(sid, "login", clock.now) | {"occurred_at": occurred_at}
    reasons = reasons_of(await post_raw(client, raw_batch(as_json(bad), as_json(good))))
    field, reason = reasons[0]
    assert field == "occurred_at"
    assert reason in (
        "must be between 2000-01-01 and 2100-01-01 (UTC)",
        "is more than 5 minutes in the future",
    )
    assert await stored_ids(ctx) == {good["event_id"]}


async def test_the_window_edges(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    earliest = event(sid, "login", clock.now) | {"occurred_at": "2000-01-01T00:00:00Z"}
    just_before = event(sid, "login", clock.now) | {"occurred_at": "2000-01-01T00:59:59+01:00"}
    within_skew = event(sid, "login", clock.now + timedelta(minutes=5))
    past_skew = event(sid, "login", clock.now + timedelta(minutes=5, seconds=1))
    response = await client.post(
        "/api/v1/events", json=[earliest, just_before, within_skew, past_skew]
    )
    assert set(reasons_of(response)) == {1, 3}
    assert await stored_ids(ctx) == {earliest["event_id"], within_skew["event_id"]}


async def test_oversized_properties_are_refused(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    when = clock.now - timedelta(hours=1)
    items = [
        event(sid, "feature_used", when, properties={f"k{i}": i for i in range(65)}),
        event(sid, "feature_used", when, properties={"k" * 129: 1}),
        event(sid, "feature_used", when, properties={"note": "x" * 2001}),
        event(sid, "feature_used", when, properties={"notes": ["é" * 2000] * 5}),
        event(sid, "feature_used", when, properties={"ids": list(range(513))}),
        event(sid, "login", when, event_id="e" * 129),
        event(sid, "feature_used", when, properties={f"k{i}": "é" * 2000 for i in range(5)}),
        event(sid, "feature_used", when, properties={f"k{i}": i for i in range(64)}),
    ]
    reasons = reasons_of(await client.post("/api/v1/events", json=items))
    assert reasons == {
        0: ("properties", "has more than 64 keys"),
        1: ("properties." + "k" * 40 + "…", "the key is longer than 128 characters"),
        2: ("properties.note", "is longer than 2000 characters"),
        3: ("properties", "is 20026 bytes of JSON; at most 16384 are stored"),
        4: ("properties.ids", "holds too many values: properties hold at most 512 in all"),
        5: ("event_id", "is longer than 128 characters"),
        6: ("properties", "is 20041 bytes of JSON; at most 16384 are stored"),
    }
    assert await stored_ids(ctx) == {items[7]["event_id"]}


async def test_wrong_types_get_plain_reasons(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    when = clock.now - timedelta(hours=1)
    items: list[Any] = [
        42,
        [],
        event(sid, "login", when) | {"event_id": 7},
        event(sid, "login", when) | {"supplier_id": None},
        event(sid, "login", when) | {"properties": []},
        event(sid, "login", when) | {"colour": "red"},
        event(sid, "Log In", when),
        event(sid, "login", when) | {"occurred_at": "2026-06-15T10:00:00"},
    ]
    reasons = reasons_of(await client.post("/api/v1/events", json=items))
    assert reasons == {
        0: ("", "must be a JSON object"),
        1: ("", "must be a JSON object"),
        2: ("event_id", "must be text"),
        3: ("", "give exactly one of supplier_id and supplier_external_id"),
        4: ("properties", "must be a JSON object"),
        5: ("colour", "is not a known field"),
        6: ("type", "must match the pattern ^[a-z][a-z0-9_.]*$"),
        7: ("occurred_at", "must include a time zone (Z or an offset such as +01:00)"),
    }
    async with ctx.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ActivityEvent)) == 0
