"""Peer context: where a supplier's health stands among suppliers like it.

Peers are the current customers (not cancelled) of the same vendor type and plan that have
a score. Their distribution is one aggregate over every scored supplier
(``repository.peer_score_counts``: counts per vendor type, plan and score), held as one row
of counts per tenth of a point for each (vendor type, plan) and refreshed in the background
like the overview (``kit.snapshots``): a profile's percentile is then two array reads,
whatever the number of suppliers. The percentile rank counts the peers scoring below and
half of those scoring the same, the supplier itself among them, over the whole group.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db import Database
from wedsync_success.health import repository
from wedsync_success.health.schemas import PeerBucket, PeerStanding
from wedsync_success.kit.snapshots import Snapshot
from wedsync_success.suppliers.service import get_supplier

IntArray = npt.NDArray[np.int64]
TENTHS = 1001
"""Scores 0.0 to 100.0 in tenths: the score's own resolution."""
BUCKETS = 10
"""The chart's bands: 0-10, 10-20, ... 90-100 (100 falls in the last)."""


def percentile_rank(below: int, equal: int, total: int) -> float | None:
    """The share of ``total`` scoring below, ties counting half, as 0-100 (one decimal);
    ``None`` for a group of fewer than two (nobody to compare with)."""
    return None if total < 2 else round(100.0 * (below + 0.5 * equal) / total, 1)


def _tenth(score: float) -> int:
    return min(max(round(score * 10), 0), TENTHS - 1)


@dataclass(frozen=True)
class PeerGroups:
    """Each (vendor type, plan)'s scores as counts per tenth of a point."""

    index: dict[tuple[str, str], int]
    counts: IntArray
    """One row per group, ``TENTHS`` columns."""

    @classmethod
    def of(cls, rows: list[tuple[str, str, float, int]]) -> PeerGroups:
        index: dict[tuple[str, str], int] = {}
        for vendor, plan, _, _ in rows:
            index.setdefault((vendor, plan), len(index))
        counts = np.zeros((len(index), TENTHS), dtype=np.int64)
        for vendor, plan, score, n in rows:
            counts[index[vendor, plan], _tenth(score)] += n
        return cls(index=index, counts=counts)

    def standing(
        self, *, supplier_id: uuid.UUID, vendor_type: str, plan_tier: str, score: float | None
    ) -> PeerStanding:
        """The supplier's percentile rank in its group and the group's distribution."""
        row = self.index.get((vendor_type, plan_tier))
        counts = self.counts[row] if row is not None else np.zeros(TENTHS, dtype=np.int64)
        total = int(counts.sum())
        percentile = None
        if score is not None:
            at = _tenth(score)
            percentile = percentile_rank(int(counts[:at].sum()), int(counts[at]), total)
        width = 100 // BUCKETS
        # Ten bands of 100 tenths; the last also holds 100.0 (reduceat runs to the end).
        bands = np.add.reduceat(counts, np.arange(0, TENTHS - 1, width * 10))
        return PeerStanding(
            supplier_id=supplier_id,
            vendor_type=vendor_type,
            plan_tier=plan_tier,
            peers=total,
            score=score,
            percentile=percentile,
            buckets=[
                PeerBucket(low=i * width, high=(i + 1) * width, count=int(n))
                for i, n in enumerate(bands.tolist())
            ],
        )


async def load_peer_groups(db: Database) -> PeerGroups:
    """Read every group's distribution (one aggregate query)."""
    async with db.sessions() as session:
        return PeerGroups.of(await repository.peer_score_counts(session))


def peer_snapshots(db: Database, *, max_age_seconds: float) -> Snapshot[PeerGroups]:
    """The process's peer distributions, refreshed at most once per ``max_age_seconds``."""
    return Snapshot(
        lambda: load_peer_groups(db), name="peer_groups", max_age_seconds=max_age_seconds
    )


async def peer_standing(
    *, session: AsyncSession, peers: Snapshot[PeerGroups], supplier_id: uuid.UUID
) -> PeerStanding:
    """Where ``supplier_id``'s current score stands among its peers (unknown: NotFound)."""
    supplier = await get_supplier(session=session, supplier_id=supplier_id)
    current = await repository.current(session, supplier_id)
    groups = await peers.get()
    return groups.standing(
        supplier_id=supplier.id,
        vendor_type=supplier.vendor_type,
        plan_tier=supplier.plan_tier,
        score=current.score if current is not None else None,
    )
