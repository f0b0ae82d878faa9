"""Migration 0020 moves the events already stored into monthly partitions (PostgreSQL) and
drops the stored ``occurred_on`` (both backends); its downgrade brings both back."""

from __future__ import annotations

import uuid

from alembic import command
from sqlalchemy import create_engine, text

from tests.db.test_churn_current_migration import fresh_url  # noqa: F401  (the fixture)
from wedsync_success.db.migrate import alembic_config, sync_url, upgrade

EVENTS = [  # (event_id, when, properties)
    ("e1", "2025-01-31 23:59:59", None),
    ("e2", "2025-02-01 00:00:00", '{"amount": 900}'),
    ("e3", "2025-04-10 08:00:00", None),
]


def test_existing_events_move_into_their_months(fresh_url: str) -> None:  # noqa: F811
    upgrade(fresh_url)  # and back, so the downgrade runs on an empty table too
    command.downgrade(alembic_config(fresh_url), "0016")
    engine = create_engine(sync_url(fresh_url))
    sqlite = fresh_url.startswith("sqlite")
    supplier = uuid.uuid4()
    key = supplier.hex if sqlite else str(supplier)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO suppliers (id, business_name, vendor_type, country, "
                    "signed_up_at, plan_tier, mrr_minor, currency, subscription_status, "
                    "subscription_started_at, created_at) VALUES (:id, 'Oak', 'florist', "
                    "'GB', :t, 'starter', 0, 'GBP', 'active', :t, :t)"
                ),
                {"id": key, "t": "2025-01-01 00:00:00"},
            )
            connection.execute(text("INSERT INTO event_types (name) VALUES ('login')"))
            connection.execute(
                text("INSERT INTO activity_batches (id, ingested_at) VALUES (1, :t)"),
                {"t": "2025-05-01 00:00:00"},
            )
            for event_id, at, props in EVENTS:
                connection.execute(
                    text(
                        "INSERT INTO activity_events (event_id, supplier_id, type_code, "
                        "occurred_at, occurred_on, value, properties, batch_id) "
                        "VALUES (:e, :s, 1, :at, :on, NULL, :p, 1)"
                    ),
                    {"e": event_id, "s": key, "at": at, "on": at[:10], "p": props},
                )
        upgrade(fresh_url)
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT event_id, occurred_at, properties, batch_id, type_code "
                    "FROM activity_events ORDER BY event_id"
                )
            ).all()
            columns = list(connection.execute(text("SELECT * FROM activity_events LIMIT 0")).keys())
            where = (
                []
                if sqlite
                else connection.execute(
                    text(
                        "SELECT event_id, tableoid::regclass::text FROM activity_events ORDER BY 1"
                    )
                ).all()
            )
        command.downgrade(alembic_config(fresh_url), "0016")
        with engine.connect() as connection:
            back = connection.execute(
                text("SELECT event_id, occurred_on FROM activity_events ORDER BY event_id")
            ).all()
        upgrade(fresh_url)
    finally:
        engine.dispose()

    assert [(r[0], str(r[1])[:19], r[3], r[4]) for r in rows] == [
        ("e1", "2025-01-31 23:59:59", 1, 1),
        ("e2", "2025-02-01 00:00:00", 1, 1),
        ("e3", "2025-04-10 08:00:00", 1, 1),
    ]
    assert rows[1][2] in ({"amount": 900}, '{"amount": 900}')
    assert "occurred_on" not in columns
    assert "occurred_at" in columns
    if not sqlite:
        assert [tuple(w) for w in where] == [
            ("e1", "activity_events_y2025m01"),
            ("e2", "activity_events_y2025m02"),
            ("e3", "activity_events_y2025m04"),
        ]
    assert [(r[0], str(r[1])) for r in back] == [
        ("e1", "2025-01-31"),
        ("e2", "2025-02-01"),
        ("e3", "2025-04-10"),
    ]
