"""compact activity_events: a batch number instead of a UUID and a timestamp per event, and
no (supplier, type, time) index

Every event carried its batch's UUID and ingestion time (24 bytes on PostgreSQL, 60 of
text on SQLite, plus their index); they move to one ``activity_batches`` row per batch, and
events keep its small integer. The (supplier, type, time) index, 75-90 bytes an event, goes:
every read it served is served by (supplier, time). Existing events keep their batches
(one numbered batch per former UUID, in ingestion order) and their ingestion times.

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-03 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wedsync_success.db.types import UTCDateTime

revision: str = "0018"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "activity_batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ingested_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_batches")),
    )
    # One batch per former UUID, numbered in the order the batches were stored.
    op.execute(
        "CREATE TEMPORARY TABLE batch_numbers AS SELECT batch_id AS old_id, "
        "row_number() OVER (ORDER BY max(ingested_at), batch_id) AS new_id, "
        "max(ingested_at) AS ingested_at FROM activity_events GROUP BY batch_id"
    )
    op.execute("CREATE UNIQUE INDEX batch_numbers_old ON batch_numbers (old_id)")
    op.execute(
        "INSERT INTO activity_batches (id, ingested_at) "
        "SELECT new_id, ingested_at FROM batch_numbers ORDER BY new_id"
    )
    if postgres:
        op.execute(
            "SELECT setval(pg_get_serial_sequence('activity_batches', 'id'), "
            "coalesce((SELECT max(id) FROM activity_batches), 0) + 1, false)"
        )
    op.drop_index("ix_activity_events_supplier_type_time", table_name="activity_events")
    op.drop_index("ix_activity_events_batch_id", table_name="activity_events")
    op.add_column("activity_events", sa.Column("batch_number", sa.Integer(), nullable=True))
    if postgres:
        op.execute(
            "UPDATE activity_events e SET batch_number = b.new_id "
            "FROM batch_numbers b WHERE b.old_id = e.batch_id"
        )
    else:
        op.execute(
            "UPDATE activity_events SET batch_number = (SELECT new_id FROM batch_numbers "
            "WHERE old_id = activity_events.batch_id)"
        )
    op.execute("DROP TABLE batch_numbers")
    with op.batch_alter_table("activity_events", schema=None) as batch_op:
        batch_op.drop_column("ingested_at")
        batch_op.drop_column("batch_id")
        batch_op.alter_column(
            "batch_number", new_column_name="batch_id", existing_type=sa.Integer(), nullable=False
        )
    op.create_index("ix_activity_events_batch_id", "activity_events", ["batch_id"])
    if postgres:  # the table was rewritten: give the planner its figures again
        op.execute("ANALYZE activity_events")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_activity_events_batch_id", table_name="activity_events")
    with op.batch_alter_table("activity_events", schema=None) as batch_op:
        batch_op.alter_column(
            "batch_id", new_column_name="batch_number", existing_type=sa.Integer()
        )
        batch_op.add_column(sa.Column("batch_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("ingested_at", UTCDateTime(timezone=True), nullable=True))
    # A batch's UUID is its number written as 32 hex digits (the same UUID for all its events).
    if postgres:
        op.execute(
            "UPDATE activity_events e SET batch_id = lpad(to_hex(b.id), 32, '0')::uuid, "
            "ingested_at = b.ingested_at FROM activity_batches b WHERE b.id = e.batch_number"
        )
    else:
        op.execute(
            "UPDATE activity_events SET batch_id = printf('%032x', batch_number), "
            "ingested_at = (SELECT ingested_at FROM activity_batches "
            "WHERE id = activity_events.batch_number)"
        )
    with op.batch_alter_table("activity_events", schema=None) as batch_op:
        batch_op.drop_column("batch_number")
        batch_op.alter_column("batch_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.alter_column(
            "ingested_at", existing_type=UTCDateTime(timezone=True), nullable=False
        )
    op.create_index("ix_activity_events_batch_id", "activity_events", ["batch_id"])
    op.create_index(
        "ix_activity_events_supplier_type_time",
        "activity_events",
        ["supplier_id", "event_type", "occurred_at"],
    )
    op.drop_table("activity_batches")
