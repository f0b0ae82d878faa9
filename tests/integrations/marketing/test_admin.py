"""What admins see and do: GET /api/v1/marketing/status and /messages (admin keys only),
`wedsync-success marketing status` and `flush` (send now, waiting retries included)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from typer.testing import CliRunner

from tests.conftest import TEST_SECRET_KEY, FakeClock
from tests.integrations.marketing.collector import collector
from tests.integrations.marketing.conftest import (
    WRITE_KEY,
    MakeContext,
    add_suppliers,
    emit,
    make_worker,
)
from wedsync_success.cli import app as cli_app
from wedsync_success.config import Settings, get_settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.db.registry import metadata
from wedsync_success.events.types import SuccessEventType
from wedsync_success.web.app import create_app

runner = CliRunner()


@pytest.fixture
async def marketing_ctx(make_ctx: MakeContext) -> AppContext:
    return await make_ctx()


@pytest.fixture
async def http(
    marketing_ctx: AppContext, api_keys: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(context=marketing_ctx, run_dispatcher=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {api_keys['admin']}"},
    ) as client:
        yield client


async def test_failed_messages_are_listed_with_the_collectors_answer(
    marketing_ctx: AppContext, http: httpx.AsyncClient, clock: FakeClock, port: int
) -> None:
    ids = await add_suppliers(marketing_ctx, 2)
    await emit(marketing_ctx, ids[:1])
    await emit(marketing_ctx, ids[1:], SuccessEventType.HEALTH_DECLINED, {"score": 30})
    worker = make_worker(marketing_ctx, clock)
    try:
        with collector(WRITE_KEY, port=port) as c:
            c.refuse_event = "Health Declined"
            await worker.drain()
    finally:
        await worker.aclose()
    status = (await http.get("/api/v1/marketing/status")).json()
    assert status["enabled"] is True
    assert status["batch_url"] == f"http://127.0.0.1:{port}/v1/batch"
    assert status["messages"] == {"pending": 0, "sending": 0, "sent": 3, "failed": 1}
    page = (await http.get("/api/v1/marketing/messages", params={"status": "failed"})).json()
    [failed] = page["items"]
    assert failed["kind"] == "track"
    assert failed["body"]["event"] == "Health Declined"
    assert failed["last_status_code"] == 400
    assert "tracking plan" in failed["last_error"]
    assert page["next_before_id"] is None
    first = (await http.get("/api/v1/marketing/messages", params={"limit": 2})).json()
    assert len(first["items"]) == 2
    rest = await http.get(
        "/api/v1/marketing/messages", params={"before_id": first["next_before_id"]}
    )
    assert len(rest.json()["items"]) == 2


async def test_only_admin_keys_read_it_and_bad_filters_name_the_field(
    http: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    read = {"Authorization": f"Bearer {api_keys['read']}"}
    assert (await http.get("/api/v1/marketing/messages", headers=read)).status_code == 403
    bad = await http.get("/api/v1/marketing/messages", params={"status": "lost"})
    assert bad.status_code == 422
    assert "status" in json.dumps(bad.json()["error"]["details"])


def test_the_cli_shows_the_status_and_flush_sends_waiting_retries(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object, clock: FakeClock
) -> None:
    from tests.helpers import free_port

    port = free_port()
    clock.now = datetime.now(UTC) + timedelta(days=1)  # the retries wait past the CLI's now
    env = {
        "WEDSYNC_DATABASE_URL": database_url,
        "WEDSYNC_MARKETING_URL": f"http://127.0.0.1:{port}",
        "WEDSYNC_MARKETING_WRITE_KEY": WRITE_KEY,
        "WEDSYNC_OUTBOUND_ALLOW_PRIVATE": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()

    async def queue_and_fail_once() -> None:
        context = build_context(Settings(secret_key=TEST_SECRET_KEY), clock=clock)
        try:
            async with context.db.transaction() as session:
                for table in reversed(metadata.sorted_tables):
                    await session.execute(table.delete())
            await emit(context, await add_suppliers(context, 2))
            worker = make_worker(context, clock)
            try:
                await worker.drain()  # nothing listens: retried later
            finally:
                await worker.aclose()
        finally:
            await context.close()

    try:
        asyncio.run(queue_and_fail_once())
        shown = runner.invoke(cli_app, ["marketing", "status", "--json"])
        assert shown.exit_code == 0, shown.output
        assert json.loads(shown.output)["messages"]["pending"] == 4
        with collector(WRITE_KEY, port=port) as c:
            flushed = runner.invoke(cli_app, ["marketing", "flush"])
        assert flushed.exit_code == 0, flushed.output
        assert "Sent 4 messages." in flushed.output
        assert len(c.effects) == 4
    finally:
        get_settings.cache_clear()
