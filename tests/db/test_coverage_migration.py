"""Migration 0026 fills supplier_coverage from the periods already stored, merged as the
product merges them (and its downgrade drops the table)."""

from __future__ import annotations

import uuid

from alembic import command
from sqlalchemy import create_engine, text

from tests.db.test_churn_current_migration import fresh_url  # noqa: F401  (the fixture)
from wedsync_success.db.migrate import alembic_config, sync_url, upgrade


def test_stored_periods_get_their_coverage(fresh_url: str) -> None:  # noqa: F811
    upgrade(fresh_url)  # and back, so the downgrade is run too
    command.downgrade(alembic_config(fresh_url), "0021")
    engine = create_engine(sync_url(fresh_url))
    sqlite = fresh_url.startswith("sqlite")
    sid = uuid.uuid4()
    key = sid.hex if sqlite else str(sid)
    periods = [  # (plan, start, end): two touching, one overlapping, one after a gap
        ("starter", "2025-01-01", "2025-02-01"),
        ("starter", "2025-02-01", "2025-03-10"),
        ("scale", "2025-02-15", "2025-03-20"),
        ("starter", "2025-05-01", None),
    ]
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM suppliers"))
            connection.execute(
                text(
                    "INSERT INTO suppliers (id, business_name, vendor_type, country, "
                    "signed_up_at, plan_tier, mrr_minor, currency, subscription_status, "
                    "subscription_started_at, created_at) VALUES (:id, 'Oak', 'florist', "
                    "'GB', :t, 'starter', 0, 'GBP', 'active', :t, :t)"
                ),
                {"id": key, "t": "2025-01-01 00:00:00.000000"},
            )
            for plan, start, end in periods:
                connection.execute(
                    text(
                        "INSERT INTO subscription_periods (supplier_id, plan, starts_at, "
                        "ends_at, mrr_minor, currency, quantity, discount_minor, "
                        "bill_period_months, created_at) VALUES (:id, :plan, :s, :e, 1900, "
                        "'GBP', 1, 0, 1, :s)"
                    ),
                    {
                        "id": key,
                        "plan": plan,
                        "s": f"{start} 00:00:00.000000",
                        "e": None if end is None else f"{end} 00:00:00.000000",
                    },
                )
        upgrade(fresh_url)
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT seq, start_month, end_month, ends_at IS NULL FROM supplier_coverage "
                    "ORDER BY seq"
                )
            ).all()
    finally:
        engine.dispose()
    jan = 2025 * 12
    assert [tuple(r) for r in rows] == [(1, jan, jan + 3, False), (2, jan + 4, None, True)]
