"""add the referral network: referral_edges, referral_metrics, and the health score's
network component (network, network_signal; 0 for scores computed before it)

Revision ID: 0025
Revises: 0021
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wedsync_success.db.types

revision: str = "0025"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = wedsync_success.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "referral_edges",
        sa.Column("referrer_id", sa.Uuid(), nullable=False),
        sa.Column("referee_key", sa.String(length=254), nullable=False),
        sa.Column("referee_supplier_id", sa.Uuid(), nullable=True),
        sa.Column("sent_at", UTC_TIME, nullable=True),
        sa.Column("converted_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["referrer_id"],
            ["suppliers.id"],
            name=op.f("fk_referral_edges_referrer_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("referrer_id", "referee_key", name=op.f("pk_referral_edges")),
    )
    op.create_index("ix_referral_edges_referee_supplier", "referral_edges", ["referee_supplier_id"])
    op.create_table(
        "referral_metrics",
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("converted", sa.Integer(), nullable=False),
        sa.Column("reach", sa.Integer(), nullable=False),
        sa.Column("in_degree", sa.Integer(), nullable=False),
        sa.Column("out_degree", sa.Integer(), nullable=False),
        sa.Column("pagerank", sa.Float(), nullable=False),
        sa.Column("core", sa.Integer(), nullable=False),
        sa.Column("super_connector", sa.Boolean(), nullable=False),
        sa.Column("computed_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_referral_metrics_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("supplier_id", name=op.f("pk_referral_metrics")),
    )
    op.create_index("ix_referral_metrics_pagerank", "referral_metrics", ["pagerank", "supplier_id"])
    for table in ("health_scores", "health_score_history"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("network", sa.Float(), nullable=False, server_default="0"))
    with op.batch_alter_table("health_scores") as batch:
        batch.add_column(
            sa.Column("network_signal", sa.Float(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("health_scores") as batch:
        batch.drop_column("network_signal")
    for table in ("health_scores", "health_score_history"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("network")
    op.drop_index("ix_referral_metrics_pagerank", table_name="referral_metrics")
    op.drop_table("referral_metrics")
    op.drop_index("ix_referral_edges_referee_supplier", table_name="referral_edges")
    op.drop_table("referral_edges")
