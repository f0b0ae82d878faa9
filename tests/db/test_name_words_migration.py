"""Migration 0011 fills supplier_name_words for the suppliers already stored, exactly as the
product writes them (and its downgrade drops the table)."""

from __future__ import annotations

import uuid

from alembic import command
from sqlalchemy import create_engine, text

from tests.db.test_churn_current_migration import fresh_url  # noqa: F401  (the fixture)
from wedsync_success.db.migrate import alembic_config, sync_url, upgrade


def test_existing_names_get_their_words(fresh_url: str) -> None:  # noqa: F811
    upgrade(fresh_url)  # and back, so the downgrade is run too
    command.downgrade(alembic_config(fresh_url), "0010")
    engine = create_engine(sync_url(fresh_url))
    sqlite = fresh_url.startswith("sqlite")
    oak, cafe = uuid.uuid4(), uuid.uuid4()
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM suppliers"))
            for supplier_id, name in ((oak, "Hollow Oak Florals"), (cafe, "Café Lumière")):
                connection.execute(
                    text(
                        "INSERT INTO suppliers (id, business_name, vendor_type, country, "
                        "signed_up_at, plan_tier, mrr_minor, currency, subscription_status, "
                        "subscription_started_at, created_at) VALUES (:id, :name, 'florist', "
                        "'GB', :t, 'starter', 0, 'GBP', 'active', :t, :t)"
                    ),
                    {
                        "id": supplier_id.hex if sqlite else str(supplier_id),
                        "name": name,
                        "t": "2026-01-01",
                    },
                )
        upgrade(fresh_url)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT word, name_key, first FROM supplier_name_words ORDER BY word")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("cafe", "cafe lumiere", True),
        ("florals", "hollow oak florals", False),
        ("hollow", "hollow oak florals", True),
        ("lumiere", "cafe lumiere", False),
        ("oak", "hollow oak florals", False),
    ]
