"""Per-supplier write serialisation on PostgreSQL, so writers cannot deadlock.

Every unit of work that writes supplier data first declares whose data it writes, before
any other statement takes a lock. On PostgreSQL that takes transaction-scoped advisory locks
in one global order:

1. the *population* lock: shared by a writer of a few suppliers, exclusive for a writer of
   many or of everyone (a full recompute);
2. then one exclusive lock per supplier, in ascending key order;
3. a writer of raw events then takes, once, the buckets of its event ids in ascending
   order and, when it must create a month's partition, the partition lock (see
   ``activity/repository.py``: ids are unique across partitions by these locks).

Two writers touching a common supplier therefore run one after the other, whole transaction
by whole transaction; writers of different suppliers run in parallel. A waiter only ever
waits for a lock later in the order than every lock it holds, so no cycle of waiters (a
deadlock) can form among these locks, and after them each transaction only takes row locks
on its own suppliers' rows, which no concurrent transaction can hold. Rows shared across
suppliers are taken in sorted key order (events by ``event_id``, every upsert by its conflict
key; see docs/architecture.md).

Serialising per supplier is also what keeps a supplier's derived data right: a rescore
reads the rollups its own transaction can see, so two batches for one supplier scored in
parallel would each miss the other's events.

SQLite needs none of this: a write transaction holds the database's only write lock from
its first statement (``BEGIN IMMEDIATE``, see :mod:`wedsync_success.db.engine`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import BigInteger, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

MAX_SUPPLIER_LOCKS = 64
"""A writer of more suppliers takes the population lock exclusively instead: PostgreSQL's
lock table is shared and bounded (``max_locks_per_transaction`` x connections)."""
POPULATION_KEY = 0x5EDD_0000_0001
"""Advisory key of the population lock (supplier keys are 64 bits of their UUID)."""


_LOCK_EACH = text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(:keys) AS k").bindparams(
    bindparam("keys", type_=ARRAY(BigInteger))
)


def supplier_key(supplier_id: uuid.UUID) -> int:
    """The supplier's advisory lock key: the first 64 bits of its id, as a signed bigint."""
    return int.from_bytes(supplier_id.bytes[:8], "big", signed=True)


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def lock_suppliers(session: AsyncSession, supplier_ids: Iterable[uuid.UUID]) -> None:
    """Serialise this transaction with every other writer of ``supplier_ids``.

    ``supplier_ids`` is consumed lazily, and only as far as needed: not at all on SQLite,
    and only up to the first key past :data:`MAX_SUPPLIER_LOCKS` on PostgreSQL, where the
    population lock stands for them all. A caller can therefore pass keys that cost
    something to compute (``chain(ids, map(external_id_lock, externals))``): an import of
    thousands of lines computes at most 65 of them.

    Call once, before the transaction writes anything (a second call could wait on a lock
    earlier in the order than one already held).
    """
    if not _postgres(session):
        return
    keys: set[int] = set()
    for supplier_id in supplier_ids:
        keys.add(supplier_key(supplier_id))
        if len(keys) > MAX_SUPPLIER_LOCKS:
            await lock_population(session)
            return
    if not keys:
        return
    await session.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": POPULATION_KEY})
    # One round trip: a function scan of the array yields its elements in array order, and
    # each row's lock is taken as the row is produced, so locks follow the sorted list.
    await session.execute(_LOCK_EACH, {"keys": sorted(keys)})


PREDICTION_LOG_KEY = 0x5EDD_0000_0002
"""Advisory key of the batch writer of the prediction log (``churn score``)."""
PARTITIONS_KEY = 0x5EDD_0000_0003
"""Advisory key of the creator of raw-event partitions (``activity/repository.py``)."""
EVENT_ID_LOCK_CLASS = 0x5EDD
"""First key of the two-key advisory locks of event-id buckets (``activity/repository.py``;
two-key locks are a separate space from the one-key locks above)."""


async def lock_prediction_log(session: AsyncSession) -> None:
    """Serialise this transaction with every other batch scoring: each writes the day's
    rows in two sorted passes (unexplained, then explained), and two runs at once could cross
    between the passes."""
    if _postgres(session):
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PREDICTION_LOG_KEY})


async def lock_population(session: AsyncSession) -> None:
    """Serialise this transaction with every writer of any supplier (a full recompute)."""
    if _postgres(session):
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": POPULATION_KEY})
