"""add suppliers.external_id: the customer's own id for a supplier, unique when given

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("suppliers", sa.Column("external_id", sa.String(length=128), nullable=True))
    # A unique index, not a constraint: SQLite adds one without rebuilding the table, and
    # both backends let any number of suppliers go without an external id (NULLs differ).
    op.create_index("ux_suppliers_external_id", "suppliers", ["external_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_suppliers_external_id", table_name="suppliers")
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.drop_column("external_id")
