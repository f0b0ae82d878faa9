"""Roles on the server: a viewer reads every page and changes nothing; failures are pages."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.helpers import create_supplier
from tests.web.signin import add_user, browser, csrf, log_in
from wedsync_success.access.models import TeamRole
from wedsync_success.context import AppContext

VIEWER = "vic@wedsync.example"
HTML = {"accept": "text/html,application/xhtml+xml"}


@pytest.fixture
async def viewer(ctx: AppContext) -> httpx.AsyncClient:
    await add_user(ctx, VIEWER, role=TeamRole.VIEWER, name="Vic")
    async with browser(ctx) as http:
        assert (await log_in(http, VIEWER)).status_code == 303
        yield http


async def test_a_viewer_reads_the_profile_without_the_send_form(
    viewer: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    supplier_id = await create_supplier(client)
    page = await viewer.get(f"/suppliers/{supplier_id}")
    assert page.status_code == 200
    assert "data-read-only" in page.text
    assert 'action="/suppliers/' + supplier_id + '/messages"' not in page.text


async def test_a_viewer_cannot_send_and_is_told_why(
    viewer: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    supplier_id = await create_supplier(client)
    token = csrf((await viewer.get("/")).text)
    response = await viewer.post(
        f"/suppliers/{supplier_id}/messages",
        data={"csrf": token, "token": "a" * 24, "channel": "email", "subject": "Hi", "body": "x"},
        headers=HTML,
    )
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "viewer" in response.text
    assert "Not allowed" in response.text
    listed = await client.get("/api/v1/interventions", params={"supplier_id": supplier_id})
    assert listed.json()["items"] == []


async def test_a_viewer_cannot_close_a_task(viewer: httpx.AsyncClient) -> None:
    token = csrf((await viewer.get("/")).text)
    response = await viewer.post(
        f"/tasks/{uuid.uuid4()}/status", data={"csrf": token, "status": "done"}, headers=HTML
    )
    assert response.status_code == 403  # refused before the task is even looked up


async def test_a_manager_passes_the_role_check(ctx: AppContext) -> None:
    await add_user(ctx)
    async with browser(ctx) as http:
        await log_in(http)
        token = csrf((await http.get("/")).text)
        response = await http.post(
            f"/tasks/{uuid.uuid4()}/status", data={"csrf": token, "status": "done"}, headers=HTML
        )
    assert response.status_code == 404  # past the role check, to the unknown task
    assert "That task no longer exists" in response.text


async def test_an_unknown_supplier_page_is_a_styled_page(viewer: httpx.AsyncClient) -> None:
    response = await viewer.get(f"/suppliers/{uuid.uuid4()}", headers=HTML)
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "Not found" in response.text
    assert "No supplier with id" in response.text
    assert "Sign out" in response.text  # the page keeps the signed-in top bar
    bad = await viewer.get("/suppliers/not-a-uuid", headers=HTML)
    assert bad.status_code == 422
    assert "<html" in bad.text


async def test_the_api_answers_json_even_to_a_browser(ctx: AppContext) -> None:
    async with browser(ctx) as http:
        response = await http.get(f"/api/v1/suppliers/{uuid.uuid4()}", headers=HTML)
        missing = await http.get("/no-such-page", headers={"accept": "application/json"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
