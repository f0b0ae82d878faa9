"""add subscription_periods: the billed periods of each supplier's subscriptions

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 12:03:29.583702
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wedsync_success.db.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = wedsync_success.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subscription_periods",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("plan", sa.String(length=32), nullable=False),
        sa.Column("starts_at", UTC_TIME, nullable=False),
        sa.Column("ends_at", UTC_TIME, nullable=True),
        sa.Column("mrr_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("bill_period_months", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_subscription_periods_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_periods")),
        # Also the index a supplier's periods are read by (it leads with supplier_id).
        sa.UniqueConstraint(
            "supplier_id", "plan", "starts_at", name=op.f("uq_subscription_periods_supplier_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("subscription_periods")
