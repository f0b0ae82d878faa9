"""Migration 0017 adds suppliers.acquisition_channel: existing suppliers keep every field and
read as "channel unknown"; the downgrade drops the column and keeps the suppliers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from tests.conftest import postgres_database
from wedsync_success.db.migrate import alembic_config, sync_url, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migration.db'}"
    else:
        yield from postgres_database()


def _columns(engine: object) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("suppliers")}  # type: ignore[arg-type]


def test_the_channel_column_comes_and_goes_keeping_the_suppliers(fresh_url: str) -> None:
    upgrade(fresh_url)
    command.downgrade(alembic_config(fresh_url), "0015")
    engine = create_engine(sync_url(fresh_url))
    sid = uuid.uuid4()
    key = sid.hex if fresh_url.startswith("sqlite") else str(sid)
    try:
        assert "acquisition_channel" not in _columns(engine)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO suppliers (id, business_name, vendor_type, country, "
                    "signed_up_at, plan_tier, mrr_minor, currency, subscription_status, "
                    "subscription_started_at, created_at) VALUES (:id, 'Old Florist', "
                    "'florist', 'GB', :t, 'starter', 1900, 'GBP', 'active', :t, :t)"
                ),
                {"id": key, "t": "2026-01-01"},
            )
        upgrade(fresh_url)
        with engine.begin() as connection:
            row = connection.execute(
                text("SELECT business_name, mrr_minor, acquisition_channel FROM suppliers")
            ).one()
            assert tuple(row) == ("Old Florist", 1900, None)
            connection.execute(text("UPDATE suppliers SET acquisition_channel = 'referral'"))
        command.downgrade(alembic_config(fresh_url), "0015")
        assert "acquisition_channel" not in _columns(engine)
        with engine.connect() as connection:
            names = connection.execute(text("SELECT business_name FROM suppliers")).scalars()
            assert list(names) == ["Old Florist"]
    finally:
        engine.dispose()
