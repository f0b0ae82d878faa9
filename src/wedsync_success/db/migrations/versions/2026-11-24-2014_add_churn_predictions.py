"""add churn predictions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 20:14:25.888081
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import wedsync_success.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "churn_predictions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column(
            "horizon_end", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("risk_band", sa.String(length=16), nullable=False),
        sa.Column(
            "drivers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "predicted_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("outcome", sa.Boolean(), nullable=True),
        sa.Column("outcome_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_churn_predictions_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_churn_predictions")),
        sa.UniqueConstraint(
            "supplier_id",
            "as_of",
            "model_version",
            name=op.f("uq_churn_predictions_supplier_id"),
        ),
    )
    with op.batch_alter_table("churn_predictions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_churn_predictions_outcome_horizon", ["outcome", "horizon_end"], unique=False
        )
        batch_op.create_index(
            "ix_churn_predictions_version_as_of", ["model_version", "as_of"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("churn_predictions", schema=None) as batch_op:
        batch_op.drop_index("ix_churn_predictions_version_as_of")
        batch_op.drop_index("ix_churn_predictions_outcome_horizon")
    op.drop_table("churn_predictions")
