"""key the prediction log by (supplier, day, model); drop its unused index

A prediction is identified by its supplier, day and model version (scoring again replaces
it), so that is now the primary key; the surrogate ``id`` only cost a sequence value and a
second unique index on every row. Nothing queries the log by (model_version, as_of), so
that index goes too. A daily scoring run writes 100K rows: each index is paid on each row.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ["supplier_id", "as_of", "model_version"]


def upgrade() -> None:
    with op.batch_alter_table("churn_predictions", schema=None) as batch_op:
        batch_op.drop_index("ix_churn_predictions_version_as_of")
        batch_op.drop_constraint("uq_churn_predictions_supplier_id", type_="unique")
        batch_op.drop_constraint("pk_churn_predictions", type_="primary")
        batch_op.drop_column("id")
        batch_op.create_primary_key("pk_churn_predictions", KEY)


def downgrade() -> None:
    with op.batch_alter_table("churn_predictions", schema=None) as batch_op:
        batch_op.drop_constraint("pk_churn_predictions", type_="primary")
        batch_op.add_column(
            sa.Column(
                "id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                sa.Identity(),
                nullable=False,
            )
        )
        batch_op.create_primary_key("pk_churn_predictions", ["id"])
        batch_op.create_unique_constraint("uq_churn_predictions_supplier_id", KEY)
        batch_op.create_index(
            "ix_churn_predictions_version_as_of", ["model_version", "as_of"], unique=False
        )
