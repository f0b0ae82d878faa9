"""drop the prediction log's (model_version, as_of) index

Nothing queries the log by model and day (quality per model reads the rows whose outcome is
known, through the outcome index), and every daily scoring run paid for maintaining it on
each of its rows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("churn_predictions", schema=None) as batch_op:
        batch_op.drop_index("ix_churn_predictions_version_as_of")


def downgrade() -> None:
    with op.batch_alter_table("churn_predictions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_churn_predictions_version_as_of", ["model_version", "as_of"], unique=False
        )
