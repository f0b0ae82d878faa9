"""create spine tables

Revision ID: 0001
Revises:
Create Date: 2026-11-24 19:04:29.309896
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import wedsync_success.db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "scopes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "created_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("revoked_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "consumer_receipts",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("acked_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_consumer_receipts")),
    )
    op.create_table(
        "outbox_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "occurred_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "created_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "published_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_events_event_id")),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_events_pending", ["published_at", "id"], unique=False)
        batch_op.create_index("ix_outbox_events_supplier_id", ["supplier_id", "id"], unique=False)

    op.create_table(
        "suppliers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("business_name", sa.String(length=200), nullable=False),
        sa.Column("vendor_type", sa.String(length=32), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column(
            "signed_up_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("plan_tier", sa.String(length=32), nullable=False),
        sa.Column("mrr_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subscription_status", sa.String(length=16), nullable=False),
        sa.Column(
            "subscription_started_at",
            wedsync_success.db.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "subscription_ended_at",
            wedsync_success.db.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("cancellation_reason", sa.String(length=200), nullable=True),
        sa.Column(
            "created_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppliers")),
    )
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_suppliers_plan_tier"), ["plan_tier"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_suppliers_subscription_status"), ["subscription_status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_suppliers_vendor_type"), ["vendor_type"], unique=False)

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
        sa.Column(
            "occurred_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=True),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column(
            "ingested_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_activity_events_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_activity_events_event_id")),
    )
    with op.batch_alter_table("activity_events", schema=None) as batch_op:
        batch_op.create_index("ix_activity_events_batch_id", ["batch_id"], unique=False)
        batch_op.create_index(
            "ix_activity_events_supplier_time", ["supplier_id", "occurred_at"], unique=False
        )
        batch_op.create_index(
            "ix_activity_events_supplier_type_time",
            ["supplier_id", "event_type", "occurred_at"],
            unique=False,
        )

    op.create_table(
        "daily_rollups",
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("value_sum", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_daily_rollups_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("supplier_id", "day", "event_type", name=op.f("pk_daily_rollups")),
    )

    op.create_table(
        "health_score_history",
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=False),
        sa.Column("engagement", sa.Float(), nullable=False),
        sa.Column("adoption", sa.Float(), nullable=False),
        sa.Column("milestones", sa.Float(), nullable=False),
        sa.Column("clients", sa.Float(), nullable=False),
        sa.Column("billing", sa.Float(), nullable=False),
        sa.Column("support", sa.Float(), nullable=False),
        sa.Column("referrals", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_health_score_history_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("supplier_id", "as_of", name=op.f("pk_health_score_history")),
    )
    op.create_table(
        "health_scores",
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=False),
        sa.Column("engagement_signal", sa.Float(), nullable=False),
        sa.Column("adoption_signal", sa.Float(), nullable=False),
        sa.Column("milestones_signal", sa.Float(), nullable=False),
        sa.Column("clients_signal", sa.Float(), nullable=False),
        sa.Column("billing_signal", sa.Float(), nullable=False),
        sa.Column("support_signal", sa.Float(), nullable=False),
        sa.Column("referrals_signal", sa.Float(), nullable=False),
        sa.Column("last_active_on", sa.Date(), nullable=True),
        sa.Column("change_7d", sa.Float(), nullable=True),
        sa.Column("change_30d", sa.Float(), nullable=True),
        sa.Column(
            "computed_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("engagement", sa.Float(), nullable=False),
        sa.Column("adoption", sa.Float(), nullable=False),
        sa.Column("milestones", sa.Float(), nullable=False),
        sa.Column("clients", sa.Float(), nullable=False),
        sa.Column("billing", sa.Float(), nullable=False),
        sa.Column("support", sa.Float(), nullable=False),
        sa.Column("referrals", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_health_scores_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("supplier_id", name=op.f("pk_health_scores")),
    )
    with op.batch_alter_table("health_scores", schema=None) as batch_op:
        batch_op.create_index("ix_health_scores_risk_score", ["risk_level", "score"], unique=False)
        batch_op.create_index(
            "ix_health_scores_score_supplier", ["score", "supplier_id"], unique=False
        )

    op.create_table(
        "milestone_achievements",
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("milestone_key", sa.String(length=64), nullable=False),
        sa.Column(
            "achieved_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("days_to_achieve", sa.Float(), nullable=False),
        sa.Column(
            "detected_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_milestone_achievements_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "supplier_id", "milestone_key", name=op.f("pk_milestone_achievements")
        ),
    )
    with op.batch_alter_table("milestone_achievements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_milestone_achievements_key_time", ["milestone_key", "achieved_at"], unique=False
        )

    op.create_table(
        "supplier_event_totals",
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("value_sum", sa.BigInteger(), nullable=False),
        sa.Column("first_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_supplier_event_totals_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("supplier_id", "event_type", name=op.f("pk_supplier_event_totals")),
    )
    op.create_table(
        "supplier_users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column(
            "created_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_supplier_users_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_users")),
    )
    with op.batch_alter_table("supplier_users", schema=None) as batch_op:
        batch_op.create_index("ix_supplier_users_supplier_id", ["supplier_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("supplier_users", schema=None) as batch_op:
        batch_op.drop_index("ix_supplier_users_supplier_id")

    op.drop_table("supplier_users")
    op.drop_table("supplier_event_totals")
    with op.batch_alter_table("milestone_achievements", schema=None) as batch_op:
        batch_op.drop_index("ix_milestone_achievements_key_time")

    op.drop_table("milestone_achievements")
    with op.batch_alter_table("health_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_health_scores_score_supplier")
        batch_op.drop_index("ix_health_scores_risk_score")

    op.drop_table("health_scores")
    op.drop_table("health_score_history")
    op.drop_table("daily_rollups")
    with op.batch_alter_table("activity_events", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_events_supplier_type_time")
        batch_op.drop_index("ix_activity_events_supplier_time")
        batch_op.drop_index("ix_activity_events_batch_id")

    op.drop_table("activity_events")
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppliers_vendor_type"))
        batch_op.drop_index(batch_op.f("ix_suppliers_subscription_status"))
        batch_op.drop_index(batch_op.f("ix_suppliers_plan_tier"))

    op.drop_table("suppliers")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_supplier_id")
        batch_op.drop_index("ix_outbox_events_pending")

    op.drop_table("outbox_events")
    op.drop_table("consumer_receipts")
    op.drop_table("api_keys")
