"""supplier_name_words follow their supplier's deletion by a trigger, not a foreign key

A foreign key checks every inserted row: on PostgreSQL a query and a ``FOR KEY SHARE`` lock
of the supplier's row (itself a write) per word, three words a supplier. A first import of
20,000 suppliers spent 0.17 s of its 1.7 s on those checks (measured 8 December 2026).
The words are derived rows, written only by the suppliers' repository for the suppliers it
writes in the same transaction; what the key gave beyond that was the cascade, which a
trigger on ``suppliers`` keeps: deleting suppliers deletes their words, on both backends
(PostgreSQL: once per statement, over its transition table of deleted rows).

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-08 01:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = "fk_supplier_name_words_supplier_id_suppliers"
TRIGGER = "suppliers_take_their_name_words"
FUNCTION = "delete_name_words_of_deleted_suppliers"


def upgrade() -> None:
    with op.batch_alter_table("supplier_name_words", schema=None) as batch_op:
        batch_op.drop_constraint(FOREIGN_KEY, type_="foreignkey")
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "DELETE FROM supplier_name_words w USING deleted_suppliers d "
            "WHERE w.supplier_id = d.id; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER DELETE ON suppliers "
            "REFERENCING OLD TABLE AS deleted_suppliers FOR EACH STATEMENT "
            f"EXECUTE FUNCTION {FUNCTION}()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER DELETE ON suppliers FOR EACH ROW BEGIN "
            "DELETE FROM supplier_name_words WHERE supplier_id = OLD.id; END"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {TRIGGER} ON suppliers")
        op.execute(f"DROP FUNCTION {FUNCTION}()")
    else:
        op.execute(f"DROP TRIGGER {TRIGGER}")
    # Words of suppliers that no longer exist would fail the restored key.
    op.execute(
        "DELETE FROM supplier_name_words WHERE supplier_id NOT IN (SELECT id FROM suppliers)"
    )
    with op.batch_alter_table("supplier_name_words", schema=None) as batch_op:
        batch_op.create_foreign_key(
            FOREIGN_KEY, "suppliers", ["supplier_id"], ["id"], ondelete="CASCADE"
        )
