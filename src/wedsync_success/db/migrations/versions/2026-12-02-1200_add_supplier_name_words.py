"""add supplier_name_words: the folded words of each business name, for search

One row per (supplier, word) of the name as ``suppliers/names.py`` folds and splits it, with
the folded name as the sort key, indexed on (word, name_key, supplier_id) so a prefix search
is an index range, and on (first, name_key, supplier_id): the first word's row of each name,
the names in order. Text is compared in code point order on both backends (PostgreSQL: the
"C" collation). Filled here for the suppliers already stored, in chunks.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 16:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wedsync_success.suppliers.names import first_word, name_key, name_words

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 5000


def _text(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def upgrade() -> None:
    op.create_table(
        "supplier_name_words",
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("word", _text(64), nullable=False),
        sa.Column("name_key", _text(200), nullable=False),
        sa.Column("first", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_supplier_name_words_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("supplier_id", "word", name=op.f("pk_supplier_name_words")),
    )
    with op.batch_alter_table("supplier_name_words", schema=None) as batch_op:
        batch_op.create_index(
            "ix_supplier_name_words_word", ["word", "name_key", "supplier_id"], unique=False
        )
        batch_op.create_index(
            "ix_supplier_name_words_first", ["first", "name_key", "supplier_id"], unique=False
        )
    _fill()


def _fill() -> None:
    suppliers = sa.table("suppliers", sa.column("id", sa.Uuid()), sa.column("business_name"))
    words = sa.table(
        "supplier_name_words",
        sa.column("supplier_id", sa.Uuid()),
        sa.column("word"),
        sa.column("name_key"),
        sa.column("first", sa.Boolean()),
    )
    connection = op.get_bind()
    after = None
    while True:
        query = sa.select(suppliers.c.id, suppliers.c.business_name).order_by(suppliers.c.id)
        if after is not None:
            query = query.where(suppliers.c.id > after)
        chunk = connection.execute(query.limit(CHUNK)).all()
        if not chunk:
            return
        rows = [
            {"supplier_id": sid, "word": word, "name_key": name_key(name), "first": word == first}
            for sid, name in chunk
            for first in (first_word(name),)
            for word in sorted(name_words(name))
        ]
        if rows:
            connection.execute(words.insert(), rows)
        after = chunk[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("supplier_name_words", schema=None) as batch_op:
        batch_op.drop_index("ix_supplier_name_words_first")
        batch_op.drop_index("ix_supplier_name_words_word")
    op.drop_table("supplier_name_words")
