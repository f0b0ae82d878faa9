"""index churn_predictions (as_of): the model-accuracy report reads one window of the log

The prediction log gains a row per supplier and model every scoring day and is never
pruned; the model-accuracy report (and its count of pending predictions) reads the
predictions made in a window of days. Without an index on ``as_of`` each report scanned the
whole log, however short its window; with it, the window's rows only.

Revision ID: 0019
Revises: 0020
Create Date: 2026-12-03 19:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("churn_predictions", schema=None) as batch_op:
        batch_op.create_index("ix_churn_predictions_as_of", ["as_of"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("churn_predictions", schema=None) as batch_op:
        batch_op.drop_index("ix_churn_predictions_as_of")
