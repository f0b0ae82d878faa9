"""The segments API: everyone authenticated reads, admins define; members page by cursor and
export as streamed CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
from sqlalchemy import select

from tests.helpers import create_supplier
from wedsync_success.context import AppContext
from wedsync_success.events.models import OutboxEvent
from wedsync_success.segments import service

VENUES = {
    "key": "quiet_venues",
    "name": "Venues gone quiet",
    "description": "No login in 30 days",
    "rules": {
        "all": [
            {"field": "vendor_type", "op": "eq", "value": "venue"},
            {"field": "activity.login", "op": "eq", "value": 0, "days": 30},
        ]
    },
}


def _read(client: httpx.AsyncClient, keys: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys['read']}"}


async def _event_types(ctx: AppContext) -> list[str]:
    async with ctx.db.sessions() as session:
        rows = await session.scalars(select(OutboxEvent.event_type).order_by(OutboxEvent.id))
        return [r for r in rows if r.startswith("segment.")]


async def test_an_admin_defines_a_segment_and_it_is_evaluated_at_once(
    client: httpx.AsyncClient, ctx: AppContext, api_keys: dict[str, str]
) -> None:
    venues = [await create_supplier(client, vendor_type="venue") for _ in range(3)]
    await create_supplier(client, vendor_type="florist")
    before = await _event_types(ctx)

    created = await client.post("/api/v1/segments", json=VENUES)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["key"], body["source"], body["member_count"]) == ("quiet_venues", "api", 3)
    assert (await _event_types(ctx))[len(before) :] == ["segment.entered"] * 3

    read = _read(client, api_keys)
    listed = (await client.get("/api/v1/segments", headers=read)).json()
    assert {s["key"]: s["source"] for s in listed} == {
        "at_risk_photographers_professional": "file",
        "champions_not_referring": "file",
        "onboarding_stalled": "file",
        "quiet_venues": "api",
    }
    one = (await client.get("/api/v1/segments/quiet_venues", headers=read)).json()
    assert one["rules"] == VENUES["rules"]
    page = (await client.get("/api/v1/segments/quiet_venues/members", headers=read)).json()
    assert sorted(m["supplier_id"] for m in page["items"]) == sorted(venues)
    assert page["total"] == 3


async def test_a_read_key_cannot_define_segments(
    client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    read = _read(client, api_keys)
    refused = await client.post("/api/v1/segments", json=VENUES, headers=read)
    assert refused.status_code == 403
    assert refused.json()["error"]["details"] == [{"field": "scope", "reason": "'admin' required"}]
    assert (await client.get("/api/v1/segments/quiet_venues")).status_code == 404
    anonymous = await client.get("/api/v1/segments", headers={"Authorization": ""})
    assert anonymous.status_code == 401


async def test_duplicates_and_the_file_s_segments_are_refused_naming_the_key(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.post("/api/v1/segments", json=VENUES)).status_code == 201
    again = await client.post("/api/v1/segments", json=VENUES)
    assert again.status_code == 422
    assert again.json()["error"]["details"] == [{"field": "key", "reason": "already exists"}]
    taken = await client.post("/api/v1/segments", json={**VENUES, "key": "onboarding_stalled"})
    assert taken.status_code == 422
    assert taken.json()["error"]["details"][0]["field"] == "key"
    patched = await client.patch("/api/v1/segments/onboarding_stalled", json={"name": "x"})
    assert patched.status_code == 403  # the file's segments are read-only here
    assert patched.json()["error"]["details"][0]["field"] == "key"
    deleted = await client.delete("/api/v1/segments/onboarding_stalled")
    assert deleted.status_code == 403
    assert (await client.delete("/api/v1/segments/no_such")).status_code == 404


async def test_bad_rules_are_refused_naming_the_field(client: httpx.AsyncClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"all": [{"field": "colour", "op": "eq", "value": "red"}]}, "rules.all.0.field"),
        ({"all": [{"field": "vendor_type", "op": "gt", "value": "venue"}]}, "rules.all.0.op"),
        ({"all": [{"field": "vendor_type", "op": "eq", "value": "wizard"}]}, "rules.all.0.value"),
        ({"all": [{"field": "health.score", "op": "gt", "value": 101}]}, "rules.all.0.value"),
        ({"all": [{"field": "activity.login", "op": "lt", "value": 3}]}, "rules.all.0.days"),
        (
            {"any": [{"field": "tenure_days", "op": "gt", "value": 3, "days": 4}]},
            "rules.any.0.days",
        ),
        (
            {"all": [{"any": [{"field": "milestone", "op": "achieved", "value": "nope"}]}]},
            "rules.all.0.any.0.value",
        ),
        ({"field": "plan_tier", "op": "eq", "value": "scale"}, "rules"),
    ]
    for rules, field in cases:
        refused = await client.post("/api/v1/segments", json={**VENUES, "rules": rules})
        assert refused.status_code == 422, (rules, refused.text)
        fields = [d["field"] for d in refused.json()["error"]["details"]]
        assert fields == [field], (rules, refused.json())


async def test_changing_a_rule_moves_members_and_deleting_lets_them_all_go(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    [await create_supplier(client, vendor_type="venue", country=c) for c in ("GB", "GB", "FR")]
    assert (await client.post("/api/v1/segments", json=VENUES)).status_code == 201
    rules = {"all": [*VENUES["rules"]["all"], {"field": "country", "op": "in", "value": ["FR"]}]}
    patched = await client.patch("/api/v1/segments/quiet_venues", json={"rules": rules})
    assert patched.status_code == 200, patched.text
    assert patched.json()["member_count"] == 1
    assert (await _event_types(ctx)).count("segment.exited") == 2

    deleted = await client.delete("/api/v1/segments/quiet_venues")
    assert deleted.json() == {"key": "quiet_venues", "entered": 0, "exited": 1, "members": 0}
    assert (await _event_types(ctx)).count("segment.exited") == 3
    assert (await client.get("/api/v1/segments/quiet_venues")).status_code == 404


async def test_members_page_by_cursor_and_export_as_csv(
    client: httpx.AsyncClient, api_keys: dict[str, str], monkeypatch: Any
) -> None:
    venues = [
        await create_supplier(client, vendor_type="venue", business_name=name)
        for name in ("=HYPERLINK(evil)", 'Hall, "Grand"', *(f"Venue {n}" for n in range(5)))
    ]
    assert (await client.post("/api/v1/segments", json=VENUES)).status_code == 201
    read = _read(client, api_keys)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get("/api/v1/segments/quiet_venues/members", params=params, headers=read)
        ).json()
        seen += [m["supplier_id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(venues)

    monkeypatch.setattr(service, "CSV_PAGE", 2)  # several pages streamed
    export = await client.get("/api/v1/segments/quiet_venues/members.csv", headers=read)
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["supplier_id"] for r in rows] == sorted(venues)
    names = {r["business_name"] for r in rows}
    assert "'=HYPERLINK(evil)" in names  # never a formula in a spreadsheet
    assert 'Hall, "Grand"' in names
    missing = await client.get("/api/v1/segments/nope/members.csv", headers=read)
    assert missing.status_code == 404
    bad = await client.get(
        "/api/v1/segments/quiet_venues/members", params={"cursor": "zz"}, headers=read
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "cursor"
