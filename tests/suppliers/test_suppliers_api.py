"""Supplier registration, filtered listing with keyset pagination, profile."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.conftest import FakeClock
from tests.factories import event, supplier
from tests.helpers import create_supplier, ingest


async def test_batch_registration_reports_each_bad_item_and_updates_by_id(
    client: httpx.AsyncClient,
) -> None:
    good = supplier()
    batch = [
        good,
        supplier(vendor_type="juggler"),
        supplier(country="gb"),
        supplier(mrr_minor=-5),
        supplier(subscription_status="cancelled"),
    ]
    body = (await client.post("/api/v1/suppliers", json={"suppliers": batch})).json()
    assert (body["created"], body["updated"], body["rejected"]) == (1, 0, 4)
    fields = {e["index"]: e["field"] for e in body["errors"]}
    assert fields == {1: "vendor_type", 2: "country", 3: "mrr_minor", 4: ""}
    assert "subscription_ended_at" in body["errors"][3]["reason"]

    renamed = good | {"business_name": "Petal & Vow", "plan_tier": "scale", "mrr_minor": 9900}
    again = (await client.post("/api/v1/suppliers", json={"suppliers": [renamed]})).json()
    assert (again["created"], again["updated"]) == (0, 1)
    profile = (await client.get(f"/api/v1/suppliers/{good['id']}")).json()
    assert (profile["business_name"], profile["plan_tier"]) == ("Petal & Vow", "scale")
    assert [u["email"] for u in profile["users"]] == [good["users"][0]["email"]]


async def test_listing_filters_and_pages_without_gaps_or_repeats(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    ids = []
    for i in range(7):
        sid = await create_supplier(client, vendor_type="venue" if i % 2 else "florist")
        ids.append(sid)
        await ingest(
            client,
            [event(sid, "login", clock.now - timedelta(days=d, hours=1)) for d in range(i * 2)],
        )
    seen: list[str] = []
    scores: list[float] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/suppliers", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        scores += [item["health"]["score"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
    assert scores == sorted(scores)

    venues = (await client.get("/api/v1/suppliers", params={"vendor_type": "venue"})).json()
    assert {i["vendor_type"] for i in venues["items"]} == {"venue"}
    assert len(venues["items"]) == 3
    top = (await client.get("/api/v1/suppliers", params={"sort": "-score", "limit": 2})).json()
    assert top["items"][0]["health"]["score"] == max(scores)
    second = (
        await client.get(
            "/api/v1/suppliers", params={"sort": "-score", "limit": 2, "cursor": top["next_cursor"]}
        )
    ).json()
    assert second["items"][0]["health"]["score"] <= top["items"][1]["health"]["score"]
    critical = (await client.get("/api/v1/suppliers", params={"risk_level": "critical"})).json()
    assert all(i["health"]["risk_level"] == "critical" for i in critical["items"])


async def test_score_range_keeps_only_suppliers_inside_it_bounds_included(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    silent = await create_supplier(client)  # scores 20: billing and support only
    busy = await create_supplier(client)
    await ingest(
        client, [event(busy, "login", clock.now - timedelta(days=d, hours=1)) for d in range(12)]
    )
    listing = (await client.get("/api/v1/suppliers")).json()["items"]
    score = {i["id"]: i["health"]["score"] for i in listing}
    low, high = score[silent], score[busy]
    assert low < high

    async def ids(**bounds: float) -> set[str]:
        response = await client.get("/api/v1/suppliers", params=bounds)
        assert response.status_code == 200, response.text
        return {i["id"] for i in response.json()["items"]}

    assert await ids(score_max=low) == {silent}
    assert await ids(score_min=high) == {busy}
    assert await ids(score_min=low, score_max=high) == {silent, busy}
    assert await ids(score_max=(low + high) / 2) == {silent}
    assert await ids(score_min=(low + high) / 2) == {busy}
    assert await ids(score_min=low + 0.05, score_max=high - 0.05) == set()


async def test_bad_listing_parameters_name_the_field(client: httpx.AsyncClient) -> None:
    for params, field in (
        ({"sort": "shoe_size"}, "sort"),
        ({"cursor": "%%%"}, "cursor"),
        ({"risk_level": "doomed"}, "risk_level"),
        ({"limit": 0}, "limit"),
        ({"score_min": 70, "score_max": 30}, "score_min"),
    ):
        response = await client.get("/api/v1/suppliers", params=params)
        assert response.status_code == 422, params
        assert response.json()["error"]["details"][0]["field"] == field


async def test_profile_of_unknown_supplier_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/suppliers/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    # Not a UUID: it may be an external id, and none names a supplier.
    bad = await client.get("/api/v1/suppliers/not-a-uuid")
    assert bad.status_code == 404
    assert bad.json()["error"]["details"][0]["field"] == "supplier_id"


async def test_profile_shows_recent_events_newest_first(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    await ingest(
        client,
        [
            event(sid, t, clock.now - timedelta(hours=h))
            for h, t in ((3, "login"), (2, "form_created"), (1, "client_added"))
        ],
    )
    profile = (await client.get(f"/api/v1/suppliers/{sid}")).json()
    assert [e["type"] for e in profile["recent_events"]] == [
        "client_added",
        "form_created",
        "login",
    ]
    assert {e["type"] for e in profile["success_events"]} >= {"supplier.milestone_achieved"}


async def test_subscription_events_update_the_supplier(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    changed_at = clock.now - timedelta(days=3)
    cancelled_at = clock.now - timedelta(hours=2)
    await ingest(
        client,
        [
            event(
                sid,
                "subscription_changed",
                changed_at,
                properties={"plan_tier": "scale", "mrr_minor": 9900, "currency": "nope"},
            ),
        ],
    )
    profile = (await client.get(f"/api/v1/suppliers/{sid}")).json()
    assert (profile["plan_tier"], profile["mrr_minor"], profile["currency"]) == (
        "scale",
        9900,
        "GBP",
    )
    await ingest(
        client,
        [
            event(
                sid, "subscription_cancelled", cancelled_at, properties={"reason": "too expensive"}
            )
        ],
    )
    profile = (await client.get(f"/api/v1/suppliers/{sid}")).json()
    assert profile["subscription_status"] == "cancelled"
    assert profile["cancellation_reason"] == "too expensive"
    assert profile["subscription_ended_at"].startswith(cancelled_at.date().isoformat())
    rescored = (await client.post("/api/v1/health/recompute")).json()
    assert rescored["scored"] == 0  # no longer an active customer


async def test_an_update_without_users_keeps_them_and_an_empty_list_clears_them(
    client: httpx.AsyncClient,
) -> None:
    body = supplier(users=[{"email": "ana@petals.example", "name": "Ana"}])
    await client.post("/api/v1/suppliers", json={"suppliers": [body]})
    sid = body["id"]

    async def users() -> list[str]:
        profile = (await client.get(f"/api/v1/suppliers/{sid}")).json()
        return [u["email"] for u in profile["users"]]

    assert await users() == ["ana@petals.example"]
    without = {k: v for k, v in body.items() if k != "users"} | {"mrr_minor": 4900}
    await client.post("/api/v1/suppliers", json={"suppliers": [without]})
    assert await users() == ["ana@petals.example"]
    await client.post("/api/v1/suppliers", json={"suppliers": [body | {"users": []}]})
    assert await users() == []
