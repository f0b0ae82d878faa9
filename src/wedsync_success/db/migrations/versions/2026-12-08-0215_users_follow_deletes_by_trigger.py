"""supplier_users follow their supplier's deletion by a trigger, not a foreign key

As for the search words (migration 0038): on PostgreSQL the key checked every inserted
user with a query and a ``FOR KEY SHARE`` lock of its supplier's row, 0.1 s of a 1.1 s
first import of 20,000 suppliers and 0.4 s of 100,000 (measured 8 December 2026). Users are
written only by the suppliers' repository, for the suppliers it writes in the same
transaction under their locks; the cascade the key gave is kept by a trigger on
``suppliers`` (PostgreSQL: once per statement, over its transition table), so deleting
suppliers deletes their users, and what hangs off the users goes with them by its own keys.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-08 02:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = "fk_supplier_users_supplier_id_suppliers"
TRIGGER = "suppliers_take_their_users"
FUNCTION = "delete_users_of_deleted_suppliers"


def upgrade() -> None:
    with op.batch_alter_table("supplier_users", schema=None) as batch_op:
        batch_op.drop_constraint(FOREIGN_KEY, type_="foreignkey")
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "DELETE FROM supplier_users u USING deleted_suppliers d "
            "WHERE u.supplier_id = d.id; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER DELETE ON suppliers "
            "REFERENCING OLD TABLE AS deleted_suppliers FOR EACH STATEMENT "
            f"EXECUTE FUNCTION {FUNCTION}()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER DELETE ON suppliers FOR EACH ROW BEGIN "
            "DELETE FROM supplier_users WHERE supplier_id = OLD.id; END"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {TRIGGER} ON suppliers")
        op.execute(f"DROP FUNCTION {FUNCTION}()")
    else:
        op.execute(f"DROP TRIGGER {TRIGGER}")
    # Users of suppliers that no longer exist would fail the restored key.
    op.execute("DELETE FROM supplier_users WHERE supplier_id NOT IN (SELECT id FROM suppliers)")
    with op.batch_alter_table("supplier_users", schema=None) as batch_op:
        batch_op.create_foreign_key(
            FOREIGN_KEY, "suppliers", ["supplier_id"], ["id"], ondelete="CASCADE"
        )
