"""add server-side dashboard sessions, failed sign-ins and API-key rate counters

``team_sessions``: one row per signed-in session (the cookie holds a random token, the row
its SHA-256), so logout, a password change and disabling an account end sessions for good.
``login_failures``: failed sign-ins per email and per client address, counted by every API
process alike. ``api_rate_counters``: requests per API key per fixed window (PostgreSQL).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wedsync_success.db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "team_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["team_users.id"],
            name=op.f("fk_team_sessions_user_id_team_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_team_sessions")),
    )
    with op.batch_alter_table("team_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_sessions_user_id"), ["user_id"], unique=False)
    op.create_table(
        "login_failures",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=320), nullable=False),
        sa.Column("failed_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_login_failures_subject_time", ["scope", "subject", "failed_at"], unique=False
        )
        batch_op.create_index("ix_login_failures_failed_at", ["failed_at"], unique=False)
    op.create_table(
        "api_rate_counters",
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column(
            "window_start", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "window_start", name=op.f("pk_api_rate_counters")),
    )


def downgrade() -> None:
    op.drop_table("api_rate_counters")
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_failed_at")
        batch_op.drop_index("ix_login_failures_subject_time")
    op.drop_table("login_failures")
    with op.batch_alter_table("team_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_sessions_user_id"))
    op.drop_table("team_sessions")
