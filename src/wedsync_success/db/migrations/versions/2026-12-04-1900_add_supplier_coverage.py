"""add supplier_coverage: each supplier's subscription periods merged into stretches, with
their month numbers, filled for the history already stored

Revision ID: 0026
Revises: 0021
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wedsync_success.db.types
from wedsync_success.suppliers.coverage import refresh_statements

revision: str = "0026"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = wedsync_success.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "supplier_coverage",
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("starts_at", UTC_TIME, nullable=False),
        sa.Column("ends_at", UTC_TIME, nullable=True),
        sa.Column("start_month", sa.Integer(), nullable=False),
        sa.Column("end_month", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_supplier_coverage_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("supplier_id", "seq", name=op.f("pk_supplier_coverage")),
    )
    # The history already stored, merged by the product's own statement (one pass).
    bind = op.get_bind()
    for statement in refresh_statements(bind.dialect, None):
        bind.execute(statement)


def downgrade() -> None:
    op.drop_table("supplier_coverage")
