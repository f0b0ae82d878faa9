"""The dashboard in-process: sign-in, CSRF, redirects, and pages fed by the API's services."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.access.models import TeamRole
from wedsync_success.access.team import create_user
from wedsync_success.churn.repository import PredictionBatch, write_predictions
from wedsync_success.context import AppContext
from wedsync_success.kit.currency import DEFAULT_RATES
from wedsync_success.kit.errors import ValidationFailed

EMAIL, PASSWORD = "ana@wedsync.example", "correct horse battery"


@pytest.fixture
async def team_user(ctx: AppContext) -> None:
    async with ctx.db.transaction() as session:
        await create_user(
            session=session,
            email=EMAIL,
            name="Ana",
            password=PASSWORD,
            now=ctx.clock(),
            role=TeamRole.ADMIN,  # an admin's list opens on every account
        )


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def _script_data(html: str, element_id: str) -> str:
    match = re.search(
        rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S
    )
    assert match, f"no #{element_id} data on the page"
    return match.group(1)


async def _sign_in(client: httpx.AsyncClient, next_path: str = "/") -> httpx.Response:
    page = await client.get("/login", params={"next": next_path})
    return await client.post(
        "/login",
        data={
            "email": EMAIL,
            "password": PASSWORD,
            "csrf": _csrf(page.text),
            "next": next_path,
        },
    )


async def test_pages_redirect_to_login_without_a_session(client: httpx.AsyncClient) -> None:
    for path in ("/", "/suppliers?risk_level=critical", "/events", "/live"):
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=/")
    response = await client.get("/suppliers?risk_level=critical")
    assert response.headers["location"] == "/login?next=/suppliers%3Frisk_level%3Dcritical"


async def test_sign_in_and_out(client: httpx.AsyncClient, team_user: None) -> None:
    signed_in = await _sign_in(client, "/events")
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/events"
    cookie = signed_in.headers["set-cookie"]
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    overview = await client.get("/")
    assert overview.status_code == 200
    assert "Active suppliers" in overview.text

    no_token = await client.post("/logout", data={})
    assert no_token.status_code == 403
    assert (await client.get("/")).status_code == 200  # still signed in
    out = await client.post("/logout", data={"csrf": _csrf(overview.text)})
    assert out.status_code == 303
    assert (await client.get("/")).status_code == 303


async def test_wrong_password_is_refused(client: httpx.AsyncClient, team_user: None) -> None:
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={
            "email": EMAIL,
            "password": "not it at all",
            "csrf": _csrf(page.text),
        },
    )
    assert response.status_code == 401
    assert "Wrong email or password" in response.text
    assert EMAIL in response.text  # the form keeps what was typed
    unknown = await client.post(
        "/login",
        data={
            "email": "nobody@wedsync.example",
            "password": PASSWORD,
            "csrf": _csrf(page.text),
        },
    )
    assert unknown.status_code == 401
    assert (await client.get("/")).status_code == 303


async def test_login_form_needs_its_csrf_token(client: httpx.AsyncClient, team_user: None) -> None:
    response = await client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 403


async def test_next_never_leaves_the_site(client: httpx.AsyncClient, team_user: None) -> None:
    response = await _sign_in(client, "//evil.example/phish")
    assert response.headers["location"] == "/"


async def test_pages_show_what_the_api_says(
    client: httpx.AsyncClient, team_user: None, clock: FakeClock
) -> None:
    await create_supplier(client, business_name="Quiet Lantern Films", vendor_type="videographer")
    busy = await create_supplier(client, business_name="Busy Bee Blooms")
    await ingest(
        client,
        [
            event(busy, t, clock.now - timedelta(days=d, hours=1))
            for d in range(20)
            for t in ("login", "client_added")
        ],
    )
    api = (await client.get("/api/v1/reports/overview")).json()
    await _sign_in(client)

    overview = (await client.get("/")).text
    assert f'data-kpi="active">{api["active_suppliers"]}<' in overview
    charted = json.loads(_script_data(overview, "overview-data"))["churnMonths"]
    running = [m["month"] for m in api["churn_by_month"] if not m["complete"]]
    assert running  # the fake clock's month is still running
    assert running[0] not in charted  # no cliff for a month a few days old
    assert len(charted) == len(api["churn_by_month"]) - 1
    assert "is still running" in overview
    assert f'data-kpi="milestones-week">{api["milestones_this_week"]}<' in overview

    listing = (await client.get("/suppliers", params={"vendor_type": "videographer"})).text
    assert "Quiet Lantern Films" in listing
    assert "Busy Bee Blooms" not in listing
    critical = (await client.get("/suppliers", params={"risk_level": "critical"})).text
    assert "Quiet Lantern Films" in critical

    profile = (await client.get(f"/suppliers/{busy}")).text
    assert "Busy Bee Blooms" in profile
    assert 'data-milestone="ten_clients"' in profile
    assert "milestone-card achieved" in profile
    assert "Active on 20 days of the last 30" in profile

    events = (await client.get("/events", params={"type": "supplier.milestone_achieved"})).text
    assert "Reached “First client added”" in events
    missing = await client.get(f"/suppliers/{uuid.uuid4()}")
    assert missing.status_code == 404


async def test_the_supplier_page_shows_the_latest_churn_prediction(
    client: httpx.AsyncClient, ctx: AppContext, team_user: None, clock: FakeClock
) -> None:
    sid = await create_supplier(client, business_name="Velvet Hour Band", vendor_type="band_dj")
    await _sign_in(client)
    page = (await client.get(f"/suppliers/{sid}")).text
    assert "No churn prediction yet" in page

    def batch(day: int, probability: float, band: str, drivers: Any) -> PredictionBatch:
        return PredictionBatch(
            model_version="v0007",
            as_of=clock.now.date() - timedelta(days=day),
            horizon_days=60,
            horizon_end=clock.now + timedelta(days=60),
            predicted_at=clock.now,
            supplier_ids=[uuid.UUID(sid)],
            probabilities=[probability],
            risk_bands=[band],
            drivers=[drivers],
        )

    reason = {
        "feature": "days_since_login",
        "value": 21.0,
        "impact": 0.61,
        "text": "no logins in 21 days",
        "direction": "up",
    }
    async with ctx.db.transaction() as session:
        await write_predictions(session, batch(1, 0.3412, "high", [reason]), rates=DEFAULT_RATES)
        await write_predictions(
            session, batch(8, 0.05, "low", None), rates=DEFAULT_RATES
        )  # older: not shown
    page = (await client.get(f"/suppliers/{sid}")).text
    assert "data-churn-probability>34%<" in page
    assert "churn-high" in page
    assert "No login for 21 days" in page  # a row logged before groups, said again plainly
    assert "Model v0007" in page
    async with ctx.db.transaction() as session:
        await write_predictions(session, batch(0, 0.08, "low", None), rates=DEFAULT_RATES)
    page = (await client.get(f"/suppliers/{sid}")).text
    assert "data-churn-probability>8%<" in page
    assert "Reasons are stored for the high-risk band" in page


async def test_bad_list_parameters_are_explained(
    client: httpx.AsyncClient, team_user: None
) -> None:
    await _sign_in(client)
    response = await client.get("/suppliers", params={"sort": "shoe_size"})
    assert response.status_code == 422
    assert "Unknown sort" in response.text
    crossed = await client.get("/suppliers", params={"score_min": "70", "score_max": "30"})
    assert crossed.status_code == 422
    assert "score_min (70) is above score_max (30)" in crossed.text


async def test_account_rules(ctx: AppContext, team_user: None) -> None:
    async with ctx.db.transaction() as session:
        with pytest.raises(ValidationFailed) as err:
            await create_user(
                session=session,
                email=EMAIL.upper(),
                name="Ana again",
                password="short",
                now=ctx.clock(),
            )
    fields = {d["field"] for d in err.value.details}
    assert fields == {"password"}
    async with ctx.db.transaction() as session:
        with pytest.raises(ValidationFailed) as err:
            await create_user(
                session=session,
                email=EMAIL.upper(),
                name="Ana again",
                password=PASSWORD,
                now=ctx.clock(),
            )
    assert err.value.details == [{"field": "email", "reason": "an account with this email exists"}]


async def test_the_supplier_page_shows_the_external_id(
    client: httpx.AsyncClient, team_user: None
) -> None:
    sid = await create_supplier(client, business_name="Ivy Lane Cakes", external_id="acct<7>")
    await _sign_in(client)
    page = (await client.get(f"/suppliers/{sid}")).text
    assert "id acct&lt;7&gt;" in page  # escaped, as every customer value is
