"""index suppliers (business_name, id): the list's name order reads it instead of sorting

Sorted by name, the suppliers list (and a manager's My accounts by name) sorted every
matching supplier for one page; the list's name order is (business_name, id), so with the
index it is read in order and stops at the page.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 17:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.create_index("ix_suppliers_business_name", ["business_name", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.drop_index("ix_suppliers_business_name")
