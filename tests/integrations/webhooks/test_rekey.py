"""Re-keying sealed endpoint secrets (``secrets rekey``): with the new key first and the old
after it everything opens; after the rekey the new key alone opens every secret and the
receiver still verifies; a second run writes nothing; a secret no key opens stops the run
naming its endpoint, with nothing written."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest
from sqlalchemy import create_engine, text, update

from tests.conftest import TEST_SECRET_KEY, FakeClock
from tests.integrations.webhooks.conftest import add_endpoint, emit, make_worker
from tests.integrations.webhooks.receiver import receiver
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.db.migrate import sync_url
from wedsync_success.integrations.webhooks import service
from wedsync_success.integrations.webhooks.models import WebhookEndpoint
from wedsync_success.integrations.webhooks.rekey import rekey_secrets
from wedsync_success.integrations.webhooks.sealing import (
    KEYS_SETTING,
    SecretKeyMismatch,
    SecretSealer,
)
from wedsync_success.kit.errors import ConfigError

OLD = TEST_SECRET_KEY  # the key the context seals with
NEW = "the-new-sealing-key-of-this-deployment-0123456789"
STRANGER = "a-key-nobody-configured-here-abcdefghijklmnop"


async def stored(ctx: AppContext) -> dict[uuid.UUID, tuple[str, str | None]]:
    """The two secret columns exactly as the database holds them."""
    async with ctx.db.sessions() as session:
        rows = await session.execute(
            text("SELECT id, secret, previous_secret FROM webhook_endpoints")
        )
        return {uuid.UUID(str(r[0])): (r[1], r[2]) for r in rows}


async def three_endpoints(ctx: AppContext, clock: FakeClock, url: str) -> dict[uuid.UUID, str]:
    """Three endpoints sealed under OLD, one rotated (two secrets); their clear secrets."""
    secrets: dict[uuid.UUID, str] = {}
    for _ in range(3):
        endpoint_id, secret = await add_endpoint(ctx, url)
        secrets[endpoint_id] = secret
    async with ctx.db.transaction() as session:
        rotated = next(iter(secrets))
        await service.rotate_secret(
            session=session,
            endpoint_id=rotated,
            overlap=ctx.webhooks.policy.rotation_overlap,
            sealer=ctx.webhooks.sealer,
            now=clock(),
        )
    return secrets


async def rekey(ctx: AppContext, sealer: SecretSealer) -> tuple[int, int, int, list[int]]:
    seen: list[int] = []
    async with ctx.db.transaction() as session:
        result = await rekey_secrets(
            session=session, sealer=sealer, progress=lambda done, total: seen.append(done)
        )
    return result.endpoints, result.resealed, result.current, seen


async def test_the_old_key_opens_until_rekeyed_then_only_the_new_one_is_needed(
    ctx: AppContext, clock: FakeClock
) -> None:
    rolled = SecretSealer(NEW, OLD, setting=KEYS_SETTING)
    new_only = SecretSealer(NEW, setting=KEYS_SETTING)
    old_only = SecretSealer(OLD)
    with receiver(clock) as rx:
        clear = await three_endpoints(ctx, clock, rx.url)
        before = await stored(ctx)
        values = [v for pair in before.values() for v in pair if v is not None]
        assert len(values) == 4
        for value in values:  # rolled out, not yet rekeyed: both lists open everything
            rolled.open(value)
            old_only.open(value)
            with pytest.raises(SecretKeyMismatch):
                new_only.open(value)

        assert await rekey(ctx, rolled) == (3, 4, 0, [1, 2, 3])
        after = await stored(ctx)
        for endpoint_id, (secret, previous) in after.items():
            assert secret != before[endpoint_id][0]
            with pytest.raises(SecretKeyMismatch):
                old_only.open(secret)
            if previous is None:
                assert new_only.open(secret) == clear[endpoint_id]
            else:  # rotated: the previous secret is the one first made
                assert new_only.open(previous) == clear[endpoint_id]
                rx.secrets.append(new_only.open(secret))
            rx.secrets.append(clear[endpoint_id])

        assert await rekey(ctx, rolled) == (3, 0, 4, [1, 2, 3])  # idempotent
        assert await stored(ctx) == after  # byte for byte: nothing written

        await emit(ctx)
        worker = make_worker(ctx, clock, sealer=new_only)  # the old key dropped
        try:
            assert await worker.drain() == 3
        finally:
            await worker.aclose()
    assert len(rx.requests) == 3
    assert rx.rejected == 0  # every signature verified by the standardwebhooks library


async def test_a_secret_no_key_opens_stops_the_rekey_with_nothing_written(
    ctx: AppContext, clock: FakeClock
) -> None:
    await three_endpoints(ctx, clock, "http://127.0.0.1:9/hooks")
    before = await stored(ctx)
    last = max(before)  # the rows are taken by id: the others are re-sealed first
    async with ctx.db.transaction() as session:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == last)
            .values(secret=SecretSealer(STRANGER).seal("whsec_x"))
        )
    before = await stored(ctx)
    with pytest.raises(SecretKeyMismatch) as refused:
        await rekey(ctx, SecretSealer(NEW, OLD, setting=KEYS_SETTING))
    assert f"endpoint {last}:" in refused.value.message
    assert "cannot be opened with any key of WEDSYNC_SEALING_KEYS" in refused.value.message
    assert "Nothing was re-sealed." in refused.value.message
    assert {"field": "endpoint_id", "reason": str(last)} in refused.value.details
    assert await stored(ctx) == before

    with pytest.raises(SecretKeyMismatch, match="cannot be opened with any key"):
        await rekey(ctx, SecretSealer(NEW, STRANGER, setting=KEYS_SETTING))  # OLD left out
    assert await stored(ctx) == before


def test_the_sealing_keys_setting_comes_before_the_secret_key() -> None:
    listed = Settings(secret_key=OLD, sealing_keys=[NEW, OLD])
    sealer = SecretSealer.from_settings(listed)
    assert sealer.setting == KEYS_SETTING
    sealed = sealer.seal("whsec_abc")
    assert SecretSealer(NEW).open(sealed) == "whsec_abc"  # the first key seals
    assert sealer.open(SecretSealer(OLD).seal("whsec_old")) == "whsec_old"  # all open
    unlisted = SecretSealer.from_settings(Settings(secret_key=OLD))
    assert unlisted.setting == "WEDSYNC_SECRET_KEY"
    assert unlisted.open(SecretSealer(OLD).seal("whsec_y")) == "whsec_y"
    with pytest.raises(ConfigError) as short:
        SecretSealer.from_settings(Settings(secret_key=OLD, sealing_keys=[NEW, "short"]))
    assert short.value.details == [
        {"field": KEYS_SETTING, "reason": "key 2 is only 5 characters (at least 32)"}
    ]


async def test_a_rotation_during_a_rekey_waits_and_is_kept(
    ctx: AppContext, clock: FakeClock, database_url: str
) -> None:
    """PostgreSQL: the rekey locks the rows it read, so a rotation that comes between its
    read and its write waits, and is applied after it (not overwritten by the rekey's
    values). On SQLite the rekey holds the one write lock, so this cannot interleave."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the row locks are PostgreSQL's; SQLite has a single writer")
    endpoint_id, _ = await add_endpoint(ctx, "http://127.0.0.1:9/h")
    [(original, _)] = (await stored(ctx)).values()
    rolled = SecretSealer(NEW, OLD, setting=KEYS_SETTING)
    rotated: list[str] = []

    def rotate_elsewhere() -> None:
        async def work() -> None:
            other = build_context(
                Settings(database_url=database_url, secret_key=TEST_SECRET_KEY), clock=clock
            )
            try:
                async with other.db.transaction() as session:
                    secret, _ = await service.rotate_secret(
                        session=session,
                        endpoint_id=endpoint_id,
                        overlap=other.webhooks.policy.rotation_overlap,
                        sealer=rolled,
                        now=clock(),
                    )
                rotated.append(secret)
            finally:
                await other.close()

        asyncio.run(work())

    rotation = threading.Thread(target=rotate_elsewhere)
    watcher = create_engine(sync_url(database_url))

    def between_read_and_write(done: int, total: int) -> None:
        """Start the rotation and hold the rekey until it waits on a lock (or finished,
        had nothing stopped it: the test then fails below)."""
        rotation.start()
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        while rotation.is_alive():
            with watcher.connect() as conn:
                if conn.scalar(waiting):
                    return
            rotation.join(timeout=0.01)

    try:
        async with ctx.db.transaction() as session:
            await rekey_secrets(session=session, sealer=rolled, progress=between_read_and_write)
            assert rotation.is_alive()  # waiting for the rekey's row lock
        rotation.join()
    finally:
        watcher.dispose()
    [(secret, previous)] = (await stored(ctx)).values()
    assert previous is not None
    assert SecretSealer(NEW).open(secret) == rotated[0]  # the rotation is kept
    assert SecretSealer(NEW).open(previous) == SecretSealer(OLD).open(original)
