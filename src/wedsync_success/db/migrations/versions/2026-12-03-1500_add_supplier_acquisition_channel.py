"""add suppliers.acquisition_channel: how a supplier found WedSync, for cohorts and LTV

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-03 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: SQLite adds the column without rebuilding the table, and every
    # existing supplier reads as "channel unknown".
    op.add_column(
        "suppliers", sa.Column("acquisition_channel", sa.String(length=64), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.drop_column("acquisition_channel")
