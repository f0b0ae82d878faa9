"""add team users, index success events and achievements by time

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 19:51:23.994226
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wedsync_success.db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "team_users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "disabled_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_users")),
        sa.UniqueConstraint("email", name=op.f("uq_team_users_email")),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_events_type_time", ["event_type", "occurred_at"], unique=False
        )
    with op.batch_alter_table("milestone_achievements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_milestone_achievements_achieved_at", ["achieved_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("milestone_achievements", schema=None) as batch_op:
        batch_op.drop_index("ix_milestone_achievements_achieved_at")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_type_time")
    op.drop_table("team_users")
