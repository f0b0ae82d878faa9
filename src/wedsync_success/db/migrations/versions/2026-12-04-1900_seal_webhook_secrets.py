"""seal webhook endpoint signing secrets at rest (Fernet keyed from WEDSYNC_SECRET_KEY);
the downgrade opens them again

Revision ID: 0030
Revises: 0021
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from wedsync_success.config import Settings
from wedsync_success.integrations.webhooks.sealing import SEALED_PREFIX, SecretSealer

revision: str = "0030"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENDPOINTS = sa.table(
    "webhook_endpoints",
    sa.column("id", sa.Uuid()),
    sa.column("secret", sa.String()),
    sa.column("previous_secret", sa.String()),
)


def _rewrite(change: Callable[[SecretSealer, str], str], *, sealed: bool) -> None:
    """Apply ``change`` to every secret not yet in the wanted form, in this transaction.
    The key is read only when some row needs it, so an empty table needs no key."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(ENDPOINTS.c.id, ENDPOINTS.c.secret, ENDPOINTS.c.previous_secret)
    ).all()

    def pending(value: str | None) -> bool:
        return value is not None and value.startswith(SEALED_PREFIX) is not sealed

    todo = [r for r in rows if pending(r.secret) or pending(r.previous_secret)]
    if not todo:
        return
    sealer = SecretSealer.from_settings(Settings())

    def convert(value: str | None) -> str | None:
        return change(sealer, value) if value is not None and pending(value) else value

    bind.execute(
        ENDPOINTS.update()
        .where(ENDPOINTS.c.id == sa.bindparam("row_id"))
        .values(secret=sa.bindparam("new_secret"), previous_secret=sa.bindparam("new_previous")),
        [
            {
                "row_id": r.id,
                "new_secret": convert(r.secret),
                "new_previous": convert(r.previous_secret),
            }
            for r in todo
        ],
    )


def upgrade() -> None:
    _rewrite(lambda sealer, secret: sealer.seal(secret), sealed=True)


def downgrade() -> None:
    _rewrite(lambda sealer, sealed: sealer.open(sealed), sealed=False)
