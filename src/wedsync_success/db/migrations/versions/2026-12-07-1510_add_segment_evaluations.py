"""add segment_evaluations (when each segment was last evaluated over every supplier)

Revision ID: 0035
Revises: 0029
Create Date: 2026-12-07 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wedsync_success.db.types

revision: str = "0035"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "segment_evaluations",
        sa.Column("segment_key", sa.String(length=64), nullable=False),
        sa.Column(
            "evaluated_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("segment_key", name=op.f("pk_segment_evaluations")),
    )


def downgrade() -> None:
    op.drop_table("segment_evaluations")
