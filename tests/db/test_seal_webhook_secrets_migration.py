"""Migration 0030 seals the signing secrets already stored (and its downgrade opens them),
with the key from WEDSYNC_SECRET_KEY; without a key it stops with a clear error."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from tests.conftest import TEST_SECRET_KEY
from tests.db.test_churn_current_migration import fresh_url  # noqa: F401  (the fixture)
from wedsync_success.db.migrate import alembic_config, sync_url, upgrade
from wedsync_success.integrations.webhooks.sealing import SEALED_PREFIX, SecretSealer
from wedsync_success.kit.errors import ConfigError
from wedsync_success.kit.standard_webhooks import new_secret


def _rows(url: str) -> list[tuple[str, str | None]]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT secret, previous_secret FROM webhook_endpoints ORDER BY url")
            ).all()
    finally:
        engine.dispose()
    return [(r[0], r[1]) for r in found]


def _insert_plain(url: str, rows: list[tuple[str, str | None]]) -> None:
    engine = create_engine(sync_url(url))
    sqlite = url.startswith("sqlite")
    try:
        with engine.begin() as connection:
            for n, (secret, previous) in enumerate(rows):
                endpoint_id = uuid.uuid4()
                connection.execute(
                    text(
                        "INSERT INTO webhook_endpoints (id, url, description, enabled, secret, "
                        "previous_secret, created_at, updated_at) VALUES (:id, :url, '', "
                        ":enabled, :secret, :previous, :t, :t)"
                    ),
                    {
                        "id": endpoint_id.hex if sqlite else str(endpoint_id),
                        "url": f"https://hooks.example.com/{n}",
                        "enabled": True,
                        "secret": secret,
                        "previous": previous,
                        "t": "2026-06-01 00:00:00",
                    },
                )
    finally:
        engine.dispose()


def test_stored_secrets_are_sealed_and_opened_again_on_downgrade(
    fresh_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEDSYNC_SECRET_KEY", TEST_SECRET_KEY)
    upgrade(fresh_url, "0030")  # and back, so both directions run on an empty table too
    command.downgrade(alembic_config(fresh_url), "0021")
    plain = [(new_secret(), new_secret()), (new_secret(), None)]
    _insert_plain(fresh_url, plain)
    upgrade(fresh_url, "0030")
    sealed = _rows(fresh_url)
    sealer = SecretSealer(TEST_SECRET_KEY)
    for (secret, previous), (got, got_previous) in zip(plain, sealed, strict=True):
        assert got.startswith(SEALED_PREFIX)
        assert secret not in got
        assert sealer.open(got) == secret
        assert (got_previous and sealer.open(got_previous)) == previous
    command.downgrade(alembic_config(fresh_url), "0021")
    assert _rows(fresh_url) == plain


def test_without_a_key_the_migration_stops_and_says_which_setting(
    fresh_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WEDSYNC_SECRET_KEY", raising=False)
    upgrade(fresh_url, "0030")  # an empty table needs no key
    command.downgrade(alembic_config(fresh_url), "0021")
    secret = new_secret()
    _insert_plain(fresh_url, [(secret, None)])
    with pytest.raises(ConfigError, match="WEDSYNC_SECRET_KEY"):
        upgrade(fresh_url, "0030")
    assert _rows(fresh_url) == [(secret, None)]  # nothing half-written
