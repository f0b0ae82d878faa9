"""Migration 0010 fills supplier_churn_current from the prediction log: each supplier's latest
prediction (latest day, then latest made), priced at the configured rates."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from tests.conftest import postgres_database
from wedsync_success.db.migrate import alembic_config, sync_url, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migration.db'}"
    else:
        yield from postgres_database()


def test_the_current_table_is_filled_from_the_log(fresh_url: str) -> None:
    upgrade(fresh_url)  # and back, so the downgrade is run too
    command.downgrade(alembic_config(fresh_url), "0008")
    engine = create_engine(sync_url(fresh_url))
    sqlite = fresh_url.startswith("sqlite")
    gbp, eur = uuid.uuid4(), uuid.uuid4()

    def key(value: uuid.UUID) -> str:
        return value.hex if sqlite else str(value)

    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM churn_predictions"))
            connection.execute(text("DELETE FROM suppliers"))
            for supplier_id, currency, mrr in ((gbp, "GBP", 4900), (eur, "EUR", 10000)):
                connection.execute(
                    text(
                        "INSERT INTO suppliers (id, business_name, vendor_type, country, "
                        "signed_up_at, plan_tier, mrr_minor, currency, subscription_status, "
                        "subscription_started_at, created_at) VALUES (:id, 'x', 'florist', 'GB',"
                        " :t, 'starter', :mrr, :currency, 'active', :t, :t)"
                    ),
                    {"id": key(supplier_id), "mrr": mrr, "currency": currency, "t": "2026-01-01"},
                )
            for supplier_id, day, probability, made in (
                (gbp, "2026-05-03", 0.2, "2026-05-04 06:00:00"),
                (gbp, "2026-05-01", 0.5, "2026-05-05 06:00:00"),  # made later, older features
                (eur, "2026-05-03", 0.1, "2026-05-04 06:00:00"),
            ):
                connection.execute(
                    text(
                        "INSERT INTO churn_predictions (supplier_id, model_version, as_of, "
                        "horizon_days, horizon_end, probability, risk_band, predicted_at) "
                        "VALUES (:id, 'v1', :day, 60, '2026-07-01', :p, 'low', :made)"
                    ),
                    {"id": key(supplier_id), "day": day, "p": probability, "made": made},
                )
        upgrade(fresh_url)
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT probability, expected_mrr_loss_minor FROM supplier_churn_current "
                    "ORDER BY probability"
                )
            ).all()
    finally:
        engine.dispose()
    # EUR: 0.1 x EUR 100.00 at 0.8696 = £8.70; GBP: the 3 May prediction, 0.2 x £49 = £9.80
    assert [tuple(r) for r in rows] == [(0.1, 870), (0.2, 980)]
