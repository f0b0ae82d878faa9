"""compact activity_events: half the bytes per event

- the batch UUID and ingestion time every event carried (24 bytes on PostgreSQL, 60 of text
  on SQLite, plus their index) move to one ``activity_batches`` row per batch; events keep
  its small integer;
- event type names move to the ``event_types`` dictionary; events keep a type's code;
- the surrogate ``id`` goes: the client's ``event_id`` is the primary key (it was unique
  already, so one index fewer);
- the (supplier, type, time) index goes: every read it served is served by (supplier, time);
- empty properties are NULL;
- ``raw_event_horizon`` records how far back ``events prune`` removed raw events.

The table is rebuilt (PostgreSQL would keep every old row version of an in-place update
until a vacuum), its fixed-width columns first so that no alignment padding is spent.
Existing events keep their batches (one numbered batch per former UUID, in ingestion order)
and their ingestion times.

Revision ID: 0018
Revises: 0022
Create Date: 2026-12-03 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from wedsync_success.db.types import UTCDateTime

revision: str = "0018"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PROPERTIES = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_OLD_INDEXES = (
    "ix_activity_events_supplier_type_time",
    "ix_activity_events_supplier_time",
    "ix_activity_events_batch_id",
)


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _set_aside(constraints: Sequence[str]) -> None:
    """Rename ``activity_events`` (and, on PostgreSQL, its named constraints, whose names
    are unique in the schema) so that the new table can take the names."""
    op.rename_table("activity_events", "activity_events_old")
    if _postgres():
        for name in constraints:
            op.execute(f"ALTER TABLE activity_events_old RENAME CONSTRAINT {name} TO {name}_old")


def upgrade() -> None:
    postgres = _postgres()
    op.create_table(
        "activity_batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ingested_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_batches")),
    )
    op.create_table(
        "event_types",
        sa.Column("code", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_event_types")),
        sa.UniqueConstraint("name", name=op.f("uq_event_types_name")),
    )
    op.create_table(
        "raw_event_horizon",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("pruned_before", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raw_event_horizon")),
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
    op.execute(
        "INSERT INTO event_types (name) "
        "SELECT DISTINCT event_type FROM activity_events ORDER BY event_type"
    )
    if postgres:
        op.execute(
            "SELECT setval(pg_get_serial_sequence('activity_batches', 'id'), "
            "coalesce((SELECT max(id) FROM activity_batches), 0) + 1, false)"
        )
    for name in _OLD_INDEXES:
        op.drop_index(name, table_name="activity_events")
    _set_aside(
        (
            "pk_activity_events",
            "uq_activity_events_event_id",
            "fk_activity_events_supplier_id_suppliers",
        )
    )
    op.create_table(
        "activity_events",
        sa.Column("occurred_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=True),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("type_code", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("properties", _PROPERTIES, nullable=True),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_activity_events_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_activity_events")),
    )
    empty = "'{}'::jsonb" if postgres else "'{}'"
    op.execute(
        "INSERT INTO activity_events (occurred_at, value, supplier_id, type_code, batch_id, "
        "occurred_on, event_id, user_id, properties) "
        "SELECT o.occurred_at, o.value, o.supplier_id, t.code, b.new_id, o.occurred_on, "
        f"o.event_id, o.user_id, nullif(o.properties, {empty}) FROM activity_events_old o "
        "JOIN batch_numbers b ON b.old_id = o.batch_id "
        "JOIN event_types t ON t.name = o.event_type ORDER BY o.id"
    )
    op.execute("DROP TABLE batch_numbers")
    op.drop_table("activity_events_old")
    op.create_index(
        "ix_activity_events_supplier_time", "activity_events", ["supplier_id", "occurred_at"]
    )
    op.create_index("ix_activity_events_batch_id", "activity_events", ["batch_id"])
    if postgres:  # a new table: give the planner its figures
        op.execute("ANALYZE activity_events")


def downgrade() -> None:
    postgres = _postgres()
    for name in ("ix_activity_events_supplier_time", "ix_activity_events_batch_id"):
        op.drop_index(name, table_name="activity_events")
    _set_aside(("pk_activity_events", "fk_activity_events_supplier_id_suppliers"))
    op.create_table(
        "activity_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=True),
        sa.Column("properties", _PROPERTIES, nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("ingested_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_activity_events_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_activity_events_event_id")),
    )
    # A batch's UUID is its number written as 32 hex digits (the same for all its events).
    uuid_of = "lpad(to_hex(b.id), 32, '0')::uuid" if postgres else "printf('%032x', b.id)"
    empty = "'{}'::jsonb" if postgres else "'{}'"
    op.execute(
        "INSERT INTO activity_events (event_id, supplier_id, user_id, event_type, occurred_at, "
        "occurred_on, value, properties, batch_id, ingested_at) "
        "SELECT o.event_id, o.supplier_id, o.user_id, t.name, o.occurred_at, o.occurred_on, "
        f"o.value, coalesce(o.properties, {empty}), {uuid_of}, b.ingested_at "
        "FROM activity_events_old o JOIN activity_batches b ON b.id = o.batch_id "
        "JOIN event_types t ON t.code = o.type_code ORDER BY b.id, o.event_id"
    )
    op.drop_table("activity_events_old")
    op.create_index("ix_activity_events_batch_id", "activity_events", ["batch_id"])
    op.create_index(
        "ix_activity_events_supplier_time", "activity_events", ["supplier_id", "occurred_at"]
    )
    op.create_index(
        "ix_activity_events_supplier_type_time",
        "activity_events",
        ["supplier_id", "event_type", "occurred_at"],
    )
    op.drop_table("raw_event_horizon")
    op.drop_table("event_types")
    op.drop_table("activity_batches")
