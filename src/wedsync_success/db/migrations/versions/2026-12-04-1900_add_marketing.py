"""add marketing_messages, marketing_identities and campaign_firings: Segment-spec calls
waiting for their collector, the traits last identified, the last firing of each campaign

Revision ID: 0024
Revises: 0021
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import wedsync_success.db.types

revision: str = "0024"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = wedsync_success.db.types.UTCDateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "marketing_messages",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=100), nullable=False),
        sa.Column("destination", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=True),
        sa.Column(
            "body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_due_at", UTC_TIME, nullable=False),
        sa.Column("due_at", UTC_TIME, nullable=False),
        sa.Column("lease_until", UTC_TIME, nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("sent_at", UTC_TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_messages")),
        sa.UniqueConstraint("message_id", name="uq_marketing_messages_message_id"),
    )
    op.create_index("ix_marketing_messages_due", "marketing_messages", ["state", "due_at"])
    op.create_table(
        "marketing_identities",
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("traits_hash", sa.String(length=64), nullable=False),
        sa.Column("identified_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("supplier_id", name=op.f("pk_marketing_identities")),
    )
    op.create_table(
        "campaign_firings",
        sa.Column("campaign_key", sa.String(length=64), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("fired_at", UTC_TIME, nullable=False),
        sa.Column("firings", sa.Integer(), nullable=False),
        sa.Column("trigger_event_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_key", "supplier_id", name=op.f("pk_campaign_firings")),
    )


def downgrade() -> None:
    op.drop_table("campaign_firings")
    op.drop_table("marketing_identities")
    op.drop_index("ix_marketing_messages_due", table_name="marketing_messages")
    op.drop_table("marketing_messages")
