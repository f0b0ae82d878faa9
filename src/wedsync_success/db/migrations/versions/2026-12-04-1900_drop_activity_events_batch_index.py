"""drop the batch index of activity_events: the reads of what a batch has just stored read
the rows its write kept aside, not the table

The index on ``activity_events (batch_id)`` took 8 bytes an event on PostgreSQL (of 171)
and one more index entry to write per event, for the reads of "the events this batch newly
stored" (rollups, feature store, payment failures, closed tickets, subscription events).
Those now read the temporary table the write fills with the rows it inserted
(``activity/repository.py``: ``NEW_EVENTS``); nothing else looked events up by batch
alone (``first_activity_after`` filters a supplier's events first).

Revision ID: 0029
Revises: 0021
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # On PostgreSQL the partitioned index: dropping it drops each partition's own.
    op.drop_index("ix_activity_events_batch_id", table_name="activity_events")


def downgrade() -> None:
    op.create_index("ix_activity_events_batch_id", "activity_events", ["batch_id"])
