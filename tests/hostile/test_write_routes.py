"""Generated hostile JSON at every write route, on both backends.

For each generated body: no 5xx, ever; and what is stored is exactly what the answer says
was accepted (event ids, supplier ids, users), with the rollups equal to the stored events.

The fixtures (one database per test, one client) are shared by the examples of a test on
purpose: the checks compare each answer with the rows before and after it, so earlier
examples' rows only make later ones more interesting (repeated ids, updates).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.conftest import FakeClock
from tests.helpers import create_supplier
from tests.hostile.strategies import (
    batch_of,
    dumps,
    hostile_value,
    instants,
    maybe,
    object_of,
    tainted,
)
from wedsync_success.activity.models import ActivityEvent, DailyRollup, SupplierEventTotal
from wedsync_success.context import AppContext
from wedsync_success.kit.limits import BIGINT_MAX, BIGINT_MIN, MAX_AMOUNT_MINOR, parse_json
from wedsync_success.suppliers.models import Supplier, SupplierUser

EXAMPLES = settings(
    max_examples=50,
    deadline=None,
    # The fixtures are set up once per test and shared by its examples (see above).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

EVENT_TYPES = ["login", "payment_received", "feature_used", "subscription_changed", "x.y_z"]


def event_items(supplier_id: str, now: datetime) -> st.SearchStrategy[str]:
    plain_properties = st.one_of(
        st.just("{}"),
        st.integers(-MAX_AMOUNT_MINOR, MAX_AMOUNT_MINOR).map(
            lambda a: dumps({"amount": a, "currency": "GBP"})
        ),
        st.dictionaries(
            st.text(max_size=8),
            st.one_of(
                st.none(),
                st.booleans(),
                st.integers(BIGINT_MIN, BIGINT_MAX),
                st.floats(allow_nan=False, allow_infinity=False),
                st.text(max_size=12),
            ),
            max_size=4,
        ).map(dumps),
        st.tuples(tainted(st.text(max_size=8)), st.text(max_size=8)).map(
            lambda kv: dumps({kv[0]: kv[1]})
        ),
        st.tuples(st.text(max_size=8), tainted(st.text(max_size=8))).map(
            lambda kv: dumps({"note": {kv[0]: [kv[1]]}})
        ),
    )
    return object_of(
        {
            "event_id": maybe(
                st.uuids().map(lambda u: dumps(f"hyp-{u}")),
                taint=st.uuids().map(lambda u: f"hyp-{u}"),
            ),
            "supplier_id": maybe(
                st.sampled_from([supplier_id, supplier_id, str(uuid.UUID(int=1))]).map(dumps)
            ),
            "type": maybe(st.sampled_from(EVENT_TYPES).map(dumps)),
            "occurred_at": instants(now),
            "properties": maybe(plain_properties),
        }
    )


async def post_raw(client: httpx.AsyncClient, path: str, body: str) -> httpx.Response:
    return await client.post(
        path, content=body.encode(), headers={"content-type": "application/json"}
    )


async def stored_event_ids(ctx: AppContext) -> set[str]:
    async with ctx.db.sessions() as session:
        return set(await session.scalars(select(ActivityEvent.event_id)))


async def assert_rollups_equal_the_events(ctx: AppContext) -> None:
    ev = ActivityEvent
    async with ctx.db.sessions() as session:
        per_type = {
            (s, t): (int(n), int(v))
            for s, t, n, v in await session.execute(
                select(
                    ev.supplier_id,
                    ev.event_type,
                    func.count(),
                    func.coalesce(func.sum(ev.value), 0),
                ).group_by(ev.supplier_id, ev.event_type)
            )
        }
        per_day = {
            (s, d, t): (int(n), int(v))
            for s, d, t, n, v in await session.execute(
                select(
                    ev.supplier_id,
                    ev.occurred_on,
                    ev.event_type,
                    func.count(),
                    func.coalesce(func.sum(ev.value), 0),
                ).group_by(ev.supplier_id, ev.occurred_on, ev.event_type)
            )
        }
        totals = {
            (r.supplier_id, r.event_type): (r.count, r.value_sum)
            for r in await session.scalars(select(SupplierEventTotal))
        }
        daily = {
            (r.supplier_id, r.day, r.event_type): (r.count, r.value_sum)
            for r in await session.scalars(select(DailyRollup))
        }
    assert totals == per_type
    assert daily == per_day


@pytest.fixture
async def supplier_id(client: httpx.AsyncClient) -> str:
    return await create_supplier(client)


@EXAMPLES
@given(data=st.data())
async def test_post_events_stores_exactly_the_accepted_items(
    client: httpx.AsyncClient,
    ctx: AppContext,
    clock: FakeClock,
    supplier_id: str,
    data: st.DataObject,
) -> None:
    body = data.draw(batch_of(event_items(supplier_id, clock.now), key="events"), label="body")
    before = await stored_event_ids(ctx)

    response = await post_raw(client, "/api/v1/events", body)

    assert response.status_code == 200, response.text
    result = response.json()
    items: list[Any] = parse_json(body)["events"]
    assert result["accepted"] + result["duplicates"] + result["rejected"] == len(items)
    rejected = {e["index"] for e in result["errors"]}
    assert len(rejected) == result["rejected"]
    for error in result["errors"]:
        assert not error["reason"].startswith(("Value error", "Input should")), error
    kept = {items[i]["event_id"].strip() for i in range(len(items)) if i not in rejected}
    after = await stored_event_ids(ctx)
    assert after - before == kept - before
    assert result["accepted"] == len(kept - before)
    await assert_rollups_equal_the_events(ctx)


SUPPLIER_IDS = [str(uuid.UUID(int=n)) for n in range(1, 6)]
USER_IDS = [str(uuid.UUID(int=100 + n)) for n in range(1, 6)]


def supplier_items(now: datetime) -> st.SearchStrategy[str]:
    user = object_of(
        {
            "id": maybe(st.sampled_from(USER_IDS).map(dumps), odds=10),
            "email": maybe(
                st.sampled_from(["ada@example.com", "bo@example.org"]).map(dumps), odds=10
            ),
            "name": maybe(st.just(dumps("Ada Fern")), taint=st.just("Ada Fern"), odds=10),
        }
    )
    past = st.integers(1, 3000).map(lambda d: dumps((now - timedelta(days=d)).isoformat()))
    return object_of(
        {
            "id": maybe(st.sampled_from(SUPPLIER_IDS).map(dumps), odds=10),
            "business_name": maybe(
                st.text(min_size=1, max_size=30).map(dumps), taint=st.just("Bloom & Vow"), odds=5
            ),
            "vendor_type": maybe(st.sampled_from(["florist", "venue", "cake"]).map(dumps), odds=10),
            "country": maybe(st.sampled_from(["GB", "IE"]).map(dumps), odds=10),
            "signed_up_at": st.sampled_from([past, past, past, instants(now)]).flatmap(
                lambda strategy: strategy
            ),
            "plan_tier": maybe(st.sampled_from(["free", "starter", "scale"]).map(dumps), odds=10),
            "mrr_minor": maybe(st.integers(0, MAX_AMOUNT_MINOR).map(dumps), odds=10),
            "users": maybe(st.lists(user, max_size=3).map(lambda us: "[" + ", ".join(us) + "]")),
        }
    )


async def stored_suppliers(ctx: AppContext) -> dict[str, tuple[str, int]]:
    """Supplier id -> (business name, number of users)."""
    async with ctx.db.sessions() as session:
        users = dict(
            (str(s), int(n))
            for s, n in await session.execute(
                select(SupplierUser.supplier_id, func.count()).group_by(SupplierUser.supplier_id)
            )
        )
        return {
            str(s.id): (s.business_name, users.get(str(s.id), 0))
            for s in await session.scalars(select(Supplier))
        }


@EXAMPLES
@given(data=st.data())
async def test_post_suppliers_stores_exactly_the_accepted_items(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, data: st.DataObject
) -> None:
    body = data.draw(batch_of(supplier_items(clock.now), key="suppliers"), label="body")
    before = await stored_suppliers(ctx)

    response = await post_raw(client, "/api/v1/suppliers", body)

    assert response.status_code < 500, response.text
    if response.status_code != 200:
        # Refused whole only when the body is beyond the JSON parser (integers of more than
        # 4,300 digits, nesting past the recursion limit): nothing is stored.
        assert response.status_code in (400, 422), response.text
        assert await stored_suppliers(ctx) == before
        return
    result = response.json()
    items: list[Any] = parse_json(body)["suppliers"]
    assert result["created"] + result["updated"] + result["rejected"] == len(items)
    rejected = {e["index"] for e in result["errors"]}
    accepted = [items[i] for i in range(len(items)) if i not in rejected]
    assert len(result["ids"]) == len(accepted)
    after = await stored_suppliers(ctx)
    assert set(after) == set(before) | set(result["ids"])
    assert result["created"] == len(set(result["ids"]) - set(before))
    for item, sid in zip(accepted, result["ids"], strict=True):
        if item.get("id") is not None:  # a null id asks for a new supplier
            assert sid == item["id"]
        name, users = after[sid]
        # str.strip() strips more than the schema (\x1c-\x1f count as spaces in Python)
        assert name.strip() == item["business_name"].strip()
        listed = item.get("users")
        # Users left out (or null) stay as they were; a list replaces them.
        assert users == (before.get(sid, ("", 0))[1] if listed is None else len(listed))


def feature_records() -> st.SearchStrategy[str]:
    names = st.one_of(
        st.sampled_from(["days_since_login", "logins_30d", "plan", "payments_failed_90d"]),
        st.text(max_size=70),
        tainted(st.just("logins_30d")),
    )
    return st.lists(
        st.tuples(
            names,
            st.one_of(
                st.integers(0, 90).map(dumps), hostile_value, tainted(st.just("free")).map(dumps)
            ),
        ),
        max_size=6,
    ).map(
        lambda members: '{"features": {' + ", ".join(f"{dumps(k)}: {v}" for k, v in members) + "}}"
    )


@pytest.fixture
def no_model(ctx: AppContext, tmp_path: Path) -> None:
    ctx.settings.churn_registry = tmp_path / "no-model"


@EXAMPLES
@given(data=st.data())
async def test_post_churn_predict_refuses_hostile_records_by_field(
    client: httpx.AsyncClient, no_model: None, data: st.DataObject
) -> None:
    """Without an active model every well-formed record is a 404 (tests/churn covers the
    scoring of hostile records by a real model); any record the schema refuses is a 422
    naming the feature, and nothing is a 5xx."""
    body = data.draw(feature_records(), label="body")

    response = await post_raw(client, "/api/v1/churn/predict", body)

    assert response.status_code in (400, 404, 422), response.text
    if response.status_code == 422:
        for detail in response.json()["error"]["details"]:
            assert detail["field"].startswith("features"), detail
            assert not detail["reason"].startswith(("Value error", "Input should")), detail
