"""partition activity_events by month on PostgreSQL; derive occurred_on; smaller keys

PostgreSQL: ``activity_events`` becomes a table partitioned by RANGE on ``occurred_at``,
one partition per UTC month (``activity_events_y2024m01``) and a default partition as a
safety net. A partitioned table's unique keys must contain the partition key, so the
client's ``event_id`` is unique per partition (an index each partition carries) and across
partitions by the insert itself (``activity/repository.py``: event-id lock buckets, then
an anti-join over every partition). The type code becomes a smallint, and ``occurred_on``
goes (it is the UTC day of ``occurred_at``, derived in queries): the row has 8 columns, so
its null bitmap fits the header's spare byte and each row is 8 bytes shorter.

SQLite: a plain table as before, without ``occurred_on``.

Existing events are copied into their months' partitions.

Revision ID: 0020
Revises: 0016
Create Date: 2026-12-03 19:00:00.000000
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = "occurred_at, value, supplier_id, batch_id, type_code, event_id, user_id, properties"
_CONSTRAINTS = ("pk_activity_events", "fk_activity_events_supplier_id_suppliers")
_INDEXES = ("ix_activity_events_supplier_time", "ix_activity_events_batch_id")


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _set_aside(constraints: Sequence[str]) -> None:
    """Rename the table, its constraints and its indexes (names unique in the schema)."""
    op.execute("ALTER TABLE activity_events RENAME TO activity_events_old")
    for name in constraints:
        op.execute(f"ALTER TABLE activity_events_old RENAME CONSTRAINT {name} TO {name}_old")
    for name in _INDEXES:
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_old")


def _month_partition(month: datetime) -> None:
    """The partition of ``month`` (its first day) with its event-id key."""
    following = datetime(month.year + month.month // 12, month.month % 12 + 1, 1)
    name = f"activity_events_y{month.year:04d}m{month.month:02d}"
    op.execute(
        f"CREATE TABLE {name} PARTITION OF activity_events FOR VALUES "
        f"FROM ('{month:%Y-%m-%d} 00:00:00+00') TO ('{following:%Y-%m-%d} 00:00:00+00')"
    )


def upgrade() -> None:
    if not _postgres():
        op.drop_column("activity_events", "occurred_on")
        return
    _set_aside(_CONSTRAINTS)
    op.execute(
        "CREATE TABLE activity_events ("
        "occurred_at timestamptz NOT NULL, value bigint, supplier_id uuid NOT NULL, "
        "batch_id integer NOT NULL, type_code smallint NOT NULL, "
        "event_id varchar(128) NOT NULL, user_id uuid, properties jsonb, "
        "CONSTRAINT fk_activity_events_supplier_id_suppliers FOREIGN KEY (supplier_id) "
        "REFERENCES suppliers (id) ON DELETE CASCADE"
        ") PARTITION BY RANGE (occurred_at)"
    )
    op.execute("CREATE TABLE activity_events_default PARTITION OF activity_events DEFAULT")
    months = op.get_bind().execute(
        sa.text(
            "SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC') "
            "FROM activity_events_old"
        )
    )
    for (month,) in months.all():
        _month_partition(month)
    # Indexes after the copy: built in one pass, their pages full.
    op.execute(
        f"INSERT INTO activity_events ({_COLUMNS}) SELECT {_COLUMNS} FROM activity_events_old "
        "ORDER BY batch_id, event_id"
    )
    op.execute("DROP TABLE activity_events_old")
    op.execute(
        "CREATE INDEX ix_activity_events_supplier_time ON activity_events "
        "(supplier_id, occurred_at)"
    )
    op.execute("CREATE INDEX ix_activity_events_batch_id ON activity_events (batch_id)")
    partitions = op.get_bind().execute(
        sa.text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'activity_events'::regclass"
        )
    )
    for (name,) in partitions.all():
        op.execute(f"CREATE UNIQUE INDEX {name}_event_id ON {name} (event_id)")
    op.execute("ANALYZE activity_events")


def downgrade() -> None:
    if not _postgres():
        op.add_column(
            "activity_events",
            sa.Column("occurred_on", sa.Date(), nullable=False, server_default="1970-01-01"),
        )
        op.execute("UPDATE activity_events SET occurred_on = date(occurred_at)")
        return
    _set_aside(("fk_activity_events_supplier_id_suppliers",))
    op.execute(
        "CREATE TABLE activity_events ("
        "occurred_at timestamptz NOT NULL, value bigint, supplier_id uuid NOT NULL, "
        "type_code integer NOT NULL, batch_id integer NOT NULL, occurred_on date NOT NULL, "
        "event_id varchar(128) NOT NULL, user_id uuid, properties jsonb, "
        "CONSTRAINT fk_activity_events_supplier_id_suppliers FOREIGN KEY (supplier_id) "
        "REFERENCES suppliers (id) ON DELETE CASCADE, "
        "CONSTRAINT pk_activity_events PRIMARY KEY (event_id))"
    )
    op.execute(
        f"INSERT INTO activity_events ({_COLUMNS}, occurred_on) "
        f"SELECT {_COLUMNS}, (occurred_at AT TIME ZONE 'UTC')::date FROM activity_events_old "
        "ORDER BY event_id"
    )
    op.execute("DROP TABLE activity_events_old CASCADE")  # and its partitions
    op.create_index(
        "ix_activity_events_supplier_time", "activity_events", ["supplier_id", "occurred_at"]
    )
    op.create_index("ix_activity_events_batch_id", "activity_events", ["batch_id"])
