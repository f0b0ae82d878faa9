"""Helpers for dashboard sign-in tests: clients from a chosen address, the login form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from wedsync_success.access.models import TeamRole
from wedsync_success.access.team import create_user
from wedsync_success.context import AppContext
from wedsync_success.web.app import create_app

EMAIL, PASSWORD = "ana@wedsync.example", "correct horse battery"


async def add_user(
    ctx: AppContext,
    email: str = EMAIL,
    password: str = PASSWORD,
    *,
    role: TeamRole = TeamRole.MANAGER,
    name: str = "Ana",
) -> None:
    async with ctx.db.transaction() as session:
        await create_user(
            session=session, email=email, name=name, password=password, now=ctx.clock(), role=role
        )


@asynccontextmanager
async def browser(
    ctx: AppContext,
    address: str = "10.0.0.1",
    cookies: httpx.Cookies | None = None,
    base_url: str = "http://test",
) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client on the app, its requests coming from ``address``."""
    transport = httpx.ASGITransport(
        app=create_app(context=ctx, run_dispatcher=False), client=(address, 40000)
    )
    async with httpx.AsyncClient(transport=transport, base_url=base_url, cookies=cookies) as http:
        yield http


def csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def log_in(
    client: httpx.AsyncClient, email: str = EMAIL, password: str = PASSWORD
) -> httpx.Response:
    """Submit the login form as a browser would (fetching the form for its CSRF token)."""
    form = await client.get("/login")
    return await client.post(
        "/login", data={"email": email, "password": password, "csrf": csrf(form.text), "next": "/"}
    )


async def log_out(client: httpx.AsyncClient) -> httpx.Response:
    page = await client.get("/")
    assert page.status_code == 200
    return await client.post("/logout", data={"csrf": csrf(page.text)})
