"""Account owners in Chromium: a manager ticks accounts in the list and takes them, finds them
under My accounts (the list's default for a manager, with how many match), hands one to a
colleague from its profile; a viewer sees who owns what and no control to change it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import LiveServer, shot
from tests.factories import supplier
from wedsync_success.access.models import TeamRole
from wedsync_success.access.team import create_user
from wedsync_success.config import Settings
from wedsync_success.context import build_context

PASSWORD = "owners-e2e-password"


async def _member(server: LiveServer, name: str, role: TeamRole) -> str:
    """A team member written into the live server's database; returns their email."""
    email = f"{name.lower()}-{uuid.uuid4().hex[:6]}@wedsync.example"
    ctx = build_context(Settings(database_url=server.database_url))
    try:
        async with ctx.db.transaction() as session:
            await create_user(
                session=session,
                email=email,
                name=name,
                password=PASSWORD,
                now=ctx.clock(),
                role=role,
            )
    finally:
        await ctx.close()
    return email


async def _suppliers(server: LiveServer, tag: str) -> list[str]:
    """Two current customers whose names sort before the seeded population's."""
    bodies = [
        supplier(
            business_name=f"Aaa {tag} {n} Owners Hall",
            signed_up_at=(datetime.now(UTC) - timedelta(days=90)).isoformat(),
        )
        for n in (1, 2)
    ]
    headers = {"Authorization": f"Bearer {server.api_key}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as api:
        made = await api.post("/api/v1/suppliers", json={"suppliers": bodies})
        assert made.status_code == 200, made.text
    return [str(b["id"]) for b in bodies]


async def _sign_in(page: Page, server: LiveServer, email: str, next_path: str) -> None:
    await page.goto(f"{server.url}{next_path}")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


@pytest.mark.usefixtures("live_server")
async def test_taking_handing_on_and_reading_account_owners(
    page: Page, live_server: LiveServer
) -> None:
    tag = uuid.uuid4().hex[:4]
    maya = await _member(live_server, f"Maya{tag}", TeamRole.MANAGER)
    await _member(live_server, f"Tom{tag}", TeamRole.MANAGER)
    vera = await _member(live_server, f"Vera{tag}", TeamRole.VIEWER)
    first, second = await _suppliers(live_server, tag)

    # A new manager's list opens on their own accounts: none yet, and a way to everyone's.
    await _sign_in(page, live_server, maya, "/suppliers?sort=name")
    await expect(page.get_by_label("Account owner")).to_have_value("mine")
    await expect(page.locator("#match-count")).to_contain_text("0 suppliers match")
    await page.get_by_role("link", name="see everyone's").click()
    await expect(page.get_by_label("Account owner")).to_have_value("all")

    # Tick the two new accounts and take them.
    for sid in (first, second):
        await page.locator(f'tr[data-supplier="{sid}"] input[type="checkbox"]').check()
    bulk = page.locator("#bulk-owner")
    await expect(bulk.get_by_label("Give the ticked accounts to")).to_contain_text("(me)")
    await bulk.get_by_role("button", name="Assign").click()
    await expect(page.locator("#notice")).to_contain_text(f"2 accounts given to Maya{tag}")
    await shot(page, "owners-bulk-assigned")

    # My accounts now lists exactly them, with the count.
    await page.goto(f"{live_server.url}/suppliers?sort=name")
    await expect(page.locator("#match-count")).to_contain_text("2 suppliers match")
    rows = page.locator("table.suppliers tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first.locator("td.owner")).to_have_text(f"Maya{tag}")

    # Hand one on from its profile.
    await rows.first.get_by_role("link", name=f"Aaa {tag} 1 Owners Hall").click()
    owner = page.locator("#owner")
    await expect(owner).to_contain_text(f"Account owner: Maya{tag}")
    await owner.get_by_label("New account owner").select_option(label=f"Tom{tag}")
    await owner.get_by_role("button", name="Change owner").click()
    await expect(page.locator("#notice")).to_contain_text(f"Tom{tag} owns the account now.")
    await expect(page.locator("[data-owner-name]")).to_have_text(f"Tom{tag}")
    await shot(page, "owners-profile-handed-on")

    # A viewer reads who owns what, and is offered nothing to change it.
    await page.context.clear_cookies()
    await _sign_in(page, live_server, vera, f"/suppliers/{first}")
    await expect(page.locator("[data-owner-name]")).to_have_text(f"Tom{tag}")
    await expect(page.locator("#owner form")).to_have_count(0)
    await expect(page.locator("[data-read-only]").first).to_contain_text("change its owner")
    await page.goto(f"{live_server.url}/suppliers?sort=name")
    await expect(page.get_by_label("Account owner")).to_have_value("all")
    await expect(page.locator("#bulk-owner")).to_have_count(0)
    await expect(page.locator('input[name="supplier_id"]')).to_have_count(0)
    await expect(page.locator(f'tr[data-supplier="{second}"] td.owner')).to_have_text(f"Maya{tag}")
    await shot(page, "owners-viewer-reads")
