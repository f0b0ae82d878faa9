"""add supplier_churn_current: each supplier's latest churn prediction, for lists

One row per supplier (the latest logged prediction: latest day, then latest made), with the
expected MRR lost (probability x MRR in the reporting currency), indexed for the suppliers
list's sorts by churn probability and by priority. Filled from the prediction log here,
priced at the rates configured for the process that migrates (WEDSYNC_FX_RATES).

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02 07:17:39.873638
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wedsync_success.db.types
from wedsync_success.config import Settings

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "supplier_churn_current",
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("risk_band", sa.String(length=16), nullable=False),
        sa.Column(
            "predicted_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("expected_mrr_loss_minor", sa.BigInteger(), nullable=True),
        sa.Column(
            "updated_at", wedsync_success.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_supplier_churn_current_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("supplier_id", name=op.f("pk_supplier_churn_current")),
    )
    with op.batch_alter_table("supplier_churn_current", schema=None) as batch_op:
        batch_op.create_index(
            "ix_supplier_churn_current_priority",
            ["expected_mrr_loss_minor", "supplier_id", "probability", "risk_band"],
            unique=False,
        )
        batch_op.create_index(
            "ix_supplier_churn_current_probability",
            ["probability", "supplier_id", "risk_band"],
            unique=False,
        )
    _fill_from_the_log()


def _fill_from_the_log() -> None:
    columns = (
        "supplier_id",
        "model_version",
        "as_of",
        "horizon_days",
        "probability",
        "risk_band",
        "predicted_at",
    )
    log = sa.table("churn_predictions", *(sa.column(c) for c in columns))
    suppliers = sa.table(
        "suppliers", sa.column("id"), sa.column("mrr_minor"), sa.column("currency")
    )
    current = sa.table(
        "supplier_churn_current",
        *(sa.column(c) for c in (*columns, "expected_mrr_loss_minor", "updated_at")),
    )
    ranked = sa.select(
        *(log.c[c] for c in columns),
        sa.func.row_number()
        .over(
            partition_by=log.c.supplier_id, order_by=(log.c.as_of.desc(), log.c.predicted_at.desc())
        )
        .label("rank"),
    ).subquery()
    factor = Settings().rates.sql_factor(suppliers.c.currency)
    expected = sa.cast(
        sa.func.round(ranked.c.probability * suppliers.c.mrr_minor * factor), sa.BigInteger
    )
    latest = (
        sa.select(*(ranked.c[c] for c in columns), expected, ranked.c.predicted_at)
        .join_from(ranked, suppliers, suppliers.c.id == ranked.c.supplier_id)
        .where(ranked.c.rank == 1)
    )
    op.execute(
        current.insert().from_select([*columns, "expected_mrr_loss_minor", "updated_at"], latest)
    )


def downgrade() -> None:
    with op.batch_alter_table("supplier_churn_current", schema=None) as batch_op:
        batch_op.drop_index("ix_supplier_churn_current_probability")
        batch_op.drop_index("ix_supplier_churn_current_priority")
    op.drop_table("supplier_churn_current")
