"""add survey_auto_asks: the CSATs asked by the system itself (after a ticket, after an
intervention), once per supplier, trigger and reference

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-03 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wedsync_success.db.types

revision: str = "0021"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = wedsync_success.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "survey_auto_asks",
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", UTC_TIME, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("survey_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_survey_auto_asks_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "supplier_id", "trigger", "reference", name=op.f("pk_survey_auto_asks")
        ),
    )


def downgrade() -> None:
    op.drop_table("survey_auto_asks")
