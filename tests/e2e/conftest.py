"""A real server over a small seeded database, and headless Chromium driven by Playwright.

Chromium comes from Debian (`apt-get install chromium`); Playwright never downloads a browser.
Without /usr/bin/chromium these tests skip, except where WEDSYNC_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import service_unavailable
from tests.helpers import served
from wedsync_success.access.models import TeamRole
from wedsync_success.access.service import create_key
from wedsync_success.access.team import create_user
from wedsync_success.config import Settings
from wedsync_success.context import build_context
from wedsync_success.db import migrate
from wedsync_success.demo import seed
from wedsync_success.synthetic import generate_population

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_INSTALLED = CHROMIUM.exists()
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
EMAIL, PASSWORD = "e2e@wedsync.example", "e2e-password-123"


@dataclass(frozen=True)
class LiveServer:
    url: str
    api_key: str
    database_url: str


async def _prepare(database_url: str) -> str:
    ctx = build_context(Settings(database_url=database_url))
    try:
        population = generate_population(suppliers=150, months=6, seed=11, end=datetime.now(UTC))
        await seed(ctx, population, progress=lambda *_: None)
        async with ctx.db.transaction() as session:
            key = await create_key(
                session=session, name="e2e", scopes=["ingest", "read"], now=ctx.clock()
            )
            await create_user(
                session=session,
                email=EMAIL,
                name="E2E Tester",
                password=PASSWORD,
                now=ctx.clock(),
                role=TeamRole.ADMIN,  # the team lead: every account is theirs to see
            )
        return key.secret
    finally:
        await ctx.close()


@pytest.fixture(scope="session")
async def live_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveServer]:
    """`wedsync-success serve` in a subprocess over a seeded SQLite database."""
    database_url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('e2e') / 'e2e.db'}"
    migrate.upgrade(database_url)
    api_key = await _prepare(database_url)
    async with served(
        database_url,
        env={"WEDSYNC_DISPATCH_INTERVAL_SECONDS": "0.5", "WEDSYNC_DEMO_PAGES": "true"},
        start_timeout=30,
    ) as url:
        yield LiveServer(url=url, api_key=api_key, database_url=database_url)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM_INSTALLED:
        service_unavailable(
            "Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)"
        )
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield instance
        await instance.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


async def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot as a test artefact."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
