"""add the churn feature store

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wedsync_success.db.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "churn_activity_windows",
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("logins_7d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("logins_30d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("logins_90d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("login_days_7d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("login_days_30d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("login_days_90d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("login_days_prev_30d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("key_actions_7d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("key_actions_30d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("key_actions_90d", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "adoption_breadth_30d__form_created", sa.Integer(), server_default="0", nullable=False
        ),
        sa.Column(
            "adoption_breadth_30d__form_submitted", sa.Integer(), server_default="0", nullable=False
        ),
        sa.Column(
            "adoption_breadth_30d__client_added", sa.Integer(), server_default="0", nullable=False
        ),
        sa.Column(
            "adoption_breadth_30d__journey_started",
            sa.Integer(),
            server_default="0",
            nullable=False,
        ),
        sa.Column(
            "adoption_breadth_30d__journey_completed",
            sa.Integer(),
            server_default="0",
            nullable=False,
        ),
        sa.Column(
            "adoption_breadth_30d__message_sent", sa.Integer(), server_default="0", nullable=False
        ),
        sa.Column(
            "adoption_breadth_30d__invoice_sent", sa.Integer(), server_default="0", nullable=False
        ),
        sa.Column(
            "adoption_breadth_30d__feature_used", sa.Integer(), server_default="0", nullable=False
        ),
        sa.Column(
            "adoption_breadth_90d__form_created", sa.Integer(), server_default="0", nullable=False
        ),
        sa.Column(
            "adoption_breadth_90d__form_submitted", sa.Integer(), server_default="0", nullable=False
        ),
        sa.Column(
            "adoption_breadth_90d__client_added", sa.Integer(), server_default="0", nullable=False
        ),
        sa.Column(
            "adoption_breadth_90d__journey_started",
            sa.Integer(),
            server_default="0",
            nullable=False,
        ),
        sa.Column(
            "adoption_breadth_90d__journey_completed",
            sa.Integer(),
            server_default="0",
            nullable=False,
        ),
        sa.Column(
            "adoption_breadth_90d__message_sent", sa.Integer(), server_default="0", nullable=False
        ),
        sa.Column(
            "adoption_breadth_90d__invoice_sent", sa.Integer(), server_default="0", nullable=False
        ),
        sa.Column(
            "adoption_breadth_90d__feature_used", sa.Integer(), server_default="0", nullable=False
        ),
        sa.Column("clients_30d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("clients_90d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("clients_180d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("journeys_90d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("enquiries_30d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("invoices_90d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("payments_failed_30d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("payments_failed_90d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("tickets_30d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("tickets_90d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("referrals_180d", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_login", sa.Date(), nullable=True),
        sa.Column("last_key_action", sa.Date(), nullable=True),
        sa.Column("last_payment_failed", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_churn_activity_windows_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("supplier_id", name=op.f("pk_churn_activity_windows")),
        comment="The churn feature store: each supplier's window aggregates as of the store's day.",
    )
    op.create_table(
        "churn_feature_store",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column(
            "updated_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_churn_feature_store")),
    )


def downgrade() -> None:
    op.drop_table("churn_feature_store")
    op.drop_table("churn_activity_windows")
