"""add surveys_sent and survey_responses: NPS and CSAT surveys asked and answered

Revision ID: 0016
Revises: 0018
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wedsync_success.db.types

revision: str = "0016"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = wedsync_success.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "surveys_sent",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_user_id", sa.Uuid(), nullable=False),
        sa.Column("intervention_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_surveys_sent_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys_sent")),
    )
    with op.batch_alter_table("surveys_sent", schema=None) as batch_op:
        batch_op.create_index(
            "ix_surveys_sent_user_kind_created",
            ["supplier_user_id", "kind", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_surveys_sent_supplier_created", ["supplier_id", "created_at"], unique=False
        )
        batch_op.create_index("uq_surveys_sent_intervention_id", ["intervention_id"], unique=True)

    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("response_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_user_id", sa.Uuid(), nullable=True),
        sa.Column("survey_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("responded_at", UTC_TIME, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_survey_responses_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys_sent.id"],
            name=op.f("fk_survey_responses_survey_id_surveys_sent"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.create_index("uq_survey_responses_response_id", ["response_id"], unique=True)
        batch_op.create_index(
            "ix_survey_responses_kind_responded", ["kind", "responded_at"], unique=False
        )
        batch_op.create_index(
            "ix_survey_responses_supplier_responded",
            ["supplier_id", "responded_at"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("survey_responses")
    op.drop_table("surveys_sent")
