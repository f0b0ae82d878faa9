"""add team roles, supplier notes, account snoozes, task snoozes

``team_users`` gain ``role`` (admin, manager, viewer; accounts made before roles existed had
every power, so they become admins); ``supplier_notes`` (a team member's note on a
supplier); ``account_snoozes`` (an account's alerts held until a time, with the reason);
``success_tasks`` gain ``snoozed_until``; ``suppliers.account_owner_id`` is indexed for
"My accounts".

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:06:29.859006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wedsync_success.db.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_snoozes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("snoozed_by", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("starts_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("until", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["snoozed_by"],
            ["team_users.id"],
            name=op.f("fk_account_snoozes_snoozed_by_team_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_account_snoozes_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_snoozes")),
    )
    with op.batch_alter_table("account_snoozes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_account_snoozes_supplier_until", ["supplier_id", "until"], unique=False
        )

    op.create_table(
        "supplier_notes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "created_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["team_users.id"],
            name=op.f("fk_supplier_notes_author_id_team_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_supplier_notes_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_notes")),
    )
    with op.batch_alter_table("supplier_notes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_supplier_notes_supplier_time", ["supplier_id", "created_at"], unique=False
        )

    with op.batch_alter_table("success_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("snoozed_until", sa.Date(), nullable=True))

    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_suppliers_account_owner_id"), ["account_owner_id"], unique=False
        )

    with op.batch_alter_table("team_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=16), nullable=False, server_default="admin")
        )
    with op.batch_alter_table("team_users", schema=None) as batch_op:
        batch_op.alter_column("role", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("team_users", schema=None) as batch_op:
        batch_op.drop_column("role")

    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppliers_account_owner_id"))

    with op.batch_alter_table("success_tasks", schema=None) as batch_op:
        batch_op.drop_column("snoozed_until")

    with op.batch_alter_table("supplier_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_supplier_notes_supplier_time")

    op.drop_table("supplier_notes")
    with op.batch_alter_table("account_snoozes", schema=None) as batch_op:
        batch_op.drop_index("ix_account_snoozes_supplier_until")

    op.drop_table("account_snoozes")
