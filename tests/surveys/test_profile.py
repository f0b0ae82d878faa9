"""The supplier's profile (API and dashboard page) shows its latest scores and comments,
escaped."""

from __future__ import annotations

import re

import httpx

from tests.helpers import create_supplier
from wedsync_success.access.models import TeamRole
from wedsync_success.access.team import create_user
from wedsync_success.context import AppContext

EMAIL, PASSWORD = "ana@wedsync.example", "correct horse battery"
HOSTILE = '<script>alert("x")</script> & more'


async def _answer(client: httpx.AsyncClient, supplier_id: str) -> None:
    items = [
        {
            "response_id": "n1",
            "kind": "nps",
            "score": 9,
            "comment": "Good",
            "supplier_id": supplier_id,
            "responded_at": "2026-05-01T10:00:00Z",
        },
        {
            "response_id": "n2",
            "kind": "nps",
            "score": 4,
            "comment": HOSTILE,
            "supplier_id": supplier_id,
            "responded_at": "2026-06-01T10:00:00Z",
        },
        {
            "response_id": "c1",
            "kind": "csat",
            "score": 5,
            "supplier_id": supplier_id,
            "responded_at": "2026-05-20T10:00:00Z",
        },
    ]
    assert (await client.post("/api/v1/surveys/responses", json=items)).json()["accepted"] == 3


async def test_the_profile_api_carries_the_latest_scores(client: httpx.AsyncClient) -> None:
    supplier_id = await create_supplier(client)
    empty = (await client.get(f"/api/v1/suppliers/{supplier_id}")).json()["surveys"]
    assert empty == {"nps": None, "csat": None, "recent": []}
    await _answer(client, supplier_id)
    surveys = (await client.get(f"/api/v1/suppliers/{supplier_id}")).json()["surveys"]
    assert (surveys["nps"]["score"], surveys["nps"]["comment"]) == (4, HOSTILE)
    assert surveys["csat"]["score"] == 5
    assert [r["response_id"] for r in surveys["recent"]] == ["n2", "c1", "n1"]


async def test_the_profile_page_shows_them_escaped(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    supplier_id = await create_supplier(client)
    await _answer(client, supplier_id)
    async with ctx.db.transaction() as session:
        await create_user(
            session=session,
            email=EMAIL,
            name="Ana",
            password=PASSWORD,
            now=ctx.clock(),
            role=TeamRole.ADMIN,
        )
    login = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
    assert csrf
    signed = await client.post(
        "/login", data={"email": EMAIL, "password": PASSWORD, "csrf": csrf.group(1), "next": "/"}
    )
    assert signed.status_code == 303
    page = (await client.get(f"/suppliers/{supplier_id}")).text
    assert 'id="surveys"' in page
    assert re.search(r'id="survey-latest-nps">4 / 10', page)
    assert re.search(r'id="survey-latest-csat">5 / 5', page)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more" in page
    assert HOSTILE not in page
