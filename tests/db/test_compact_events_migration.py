"""Migration 0018 rebuilds activity_events with the events already stored: types into the
dictionary, batches numbered with their ingestion times, empty properties NULL; and its
downgrade brings the old shape back with the same events."""

from __future__ import annotations

import json
import uuid

from alembic import command
from sqlalchemy import create_engine, text

from tests.db.test_churn_current_migration import fresh_url  # noqa: F401  (the fixture)
from wedsync_success.db.migrate import alembic_config, sync_url, upgrade


def test_existing_events_survive_the_rebuild(fresh_url: str) -> None:  # noqa: F811
    upgrade(fresh_url)  # and back, so the downgrade runs on an empty table too
    command.downgrade(alembic_config(fresh_url), "0022")
    engine = create_engine(sync_url(fresh_url))
    sqlite = fresh_url.startswith("sqlite")
    supplier, early, late = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def key(value: uuid.UUID) -> str:
        return value.hex if sqlite else str(value)

    events = [  # (event_id, type, when, properties, batch, ingested)
        ("e1", "login", "2025-01-05 10:00:00", {}, early, "2025-01-06 00:00:00"),
        (
            "e2",
            "payment_received",
            "2025-01-05 11:00:00",
            {"amount": 900},
            early,
            "2025-01-06 00:00:00",
        ),
        ("e3", "login", "2025-02-01 09:30:00", {"via": "sso"}, late, "2025-02-02 00:00:00"),
    ]
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO suppliers (id, business_name, vendor_type, country, "
                    "signed_up_at, plan_tier, mrr_minor, currency, subscription_status, "
                    "subscription_started_at, created_at) VALUES (:id, 'Oak', 'florist', "
                    "'GB', :t, 'starter', 0, 'GBP', 'active', :t, :t)"
                ),
                {"id": key(supplier), "t": "2025-01-01 00:00:00"},
            )
            for event_id, kind, at, props, batch, ingested in events:
                connection.execute(
                    text(
                        "INSERT INTO activity_events (event_id, supplier_id, event_type, "
                        "occurred_at, occurred_on, value, properties, batch_id, ingested_at) "
                        "VALUES (:e, :s, :k, :at, :on, :v, :p, :b, :i)"
                    ),
                    {
                        "e": event_id,
                        "s": key(supplier),
                        "k": kind,
                        "at": at,
                        "on": at[:10],
                        "v": props.get("amount"),
                        "p": json.dumps(props),
                        "b": key(batch),
                        "i": ingested,
                    },
                )
        upgrade(fresh_url)
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT e.event_id, t.name, e.value, e.properties, b.id, b.ingested_at "
                    "FROM activity_events e JOIN event_types t ON t.code = e.type_code "
                    "JOIN activity_batches b ON b.id = e.batch_id ORDER BY e.event_id"
                )
            ).all()
            types = connection.execute(text("SELECT name FROM event_types ORDER BY code")).all()
        command.downgrade(alembic_config(fresh_url), "0022")
        with engine.connect() as connection:
            back = connection.execute(
                text(
                    "SELECT event_id, event_type, value, properties, ingested_at "
                    "FROM activity_events ORDER BY event_id"
                )
            ).all()
            batches = connection.execute(
                text("SELECT count(DISTINCT batch_id) FROM activity_events")
            ).scalar()
        upgrade(fresh_url)
    finally:
        engine.dispose()

    def props(value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    def stamp(value: object) -> str:
        return str(value)[:19]

    assert [(r[0], r[1], r[2], props(r[3]), r[4], stamp(r[5])) for r in rows] == [
        ("e1", "login", None, None, 1, "2025-01-06 00:00:00"),  # {} became NULL
        ("e2", "payment_received", 900, {"amount": 900}, 1, "2025-01-06 00:00:00"),
        ("e3", "login", None, {"via": "sso"}, 2, "2025-02-02 00:00:00"),  # batches in time order
    ]
    assert [t[0] for t in types] == ["login", "payment_received"]
    assert [(r[0], r[1], r[2], props(r[3]), stamp(r[4])) for r in back] == [
        ("e1", "login", None, {}, "2025-01-06 00:00:00"),
        ("e2", "payment_received", 900, {"amount": 900}, "2025-01-06 00:00:00"),
        ("e3", "login", None, {"via": "sso"}, "2025-02-02 00:00:00"),
    ]
    assert batches == 2
