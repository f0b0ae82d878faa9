"""``wedsync-success secrets rekey`` on each backend: re-seals under the first key of
WEDSYNC_SEALING_KEYS, says how many, changes nothing the second time, and a key list that
opens nothing stops with a clear error and exit 1."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from wedsync_success.cli import app
from wedsync_success.config import Settings, get_settings
from wedsync_success.context import build_context
from wedsync_success.integrations.webhooks import service
from wedsync_success.integrations.webhooks.schemas import EndpointIn
from wedsync_success.integrations.webhooks.sealing import SecretSealer

runner = CliRunner()
OLD = "the-old-key-that-sealed-these-secrets-0123456789"
NEW = "the-new-sealing-key-of-this-deployment-0123456789"


def endpoints_sealed_under_old(count: int) -> list[str]:
    async def work() -> list[str]:
        ctx = build_context(Settings(secret_key=OLD, outbound_allow_private=True))
        try:
            made = []
            for i in range(count):
                async with ctx.db.transaction() as session:
                    _, secret = await service.create_endpoint(
                        session=session,
                        data=EndpointIn(url=f"http://127.0.0.1:9/{i}"),
                        sealer=ctx.webhooks.sealer,
                        now=ctx.clock(),
                    )
                made.append(secret)
            return made
        finally:
            await ctx.close()

    return asyncio.run(work())


def stored() -> list[str]:
    async def work() -> list[str]:
        ctx = build_context(Settings(secret_key=OLD))
        try:
            async with ctx.db.sessions() as session:
                rows = await session.execute(text("SELECT secret FROM webhook_endpoints"))
                return sorted(r[0] for r in rows)
        finally:
            await ctx.close()

    return asyncio.run(work())


def test_rekey_reseals_under_the_first_key_once(
    cli_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear = endpoints_sealed_under_old(2)
    monkeypatch.setenv("WEDSYNC_SECRET_KEY", OLD)
    monkeypatch.setenv("WEDSYNC_SEALING_KEYS", json.dumps([NEW, OLD]))
    get_settings.cache_clear()
    done = runner.invoke(app, ["secrets", "rekey"])
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert (
        "Re-sealed 2 secrets of 2 endpoints under the first key of WEDSYNC_SEALING_KEYS "
        "(0 already were)." in said
    )
    resealed = stored()
    assert sorted(SecretSealer(NEW).open(v) for v in resealed) == sorted(clear)

    again = runner.invoke(app, ["secrets", "rekey"])
    assert again.exit_code == 0, again.output
    assert "Re-sealed 0 secrets of 2 endpoints" in " ".join(again.output.split())
    assert stored() == resealed


def test_rekey_with_keys_that_open_nothing_fails_clearly_and_writes_nothing(
    cli_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoints_sealed_under_old(2)
    before = stored()
    monkeypatch.setenv("WEDSYNC_SECRET_KEY", OLD)
    monkeypatch.setenv("WEDSYNC_SEALING_KEYS", json.dumps([NEW]))  # OLD forgotten
    get_settings.cache_clear()
    failed = runner.invoke(app, ["secrets", "rekey"])
    assert failed.exit_code == 1, failed.output
    said = " ".join(failed.output.split())
    assert "cannot be opened with any key of WEDSYNC_SEALING_KEYS" in said
    assert "Nothing was re-sealed." in said
    assert stored() == before
