"""The Business page's reports, kept per (month, trend, segments) and refreshed behind the
scenes: the gathering reads the whole history (seconds at scale), while its figures move
slowly, so a visit within ``max_age`` of the last one gets it at once (stale-while-
revalidate, as the overview). Only the first visit of a key waits. At most :data:`KEPT`
keys are held; the one used longest ago goes first."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from wedsync_success.kit.snapshots import Snapshot
from wedsync_success.reports.history_schemas import SegmentBy

if TYPE_CHECKING:  # the reports load (lifelines, scipy) only when a page first needs them
    from wedsync_success.reports.business import BusinessPack

KEPT = 32


@dataclass(frozen=True)
class PackKey:
    month: date
    months: int
    segment: SegmentBy


class BusinessPacks:
    """The gathering of each key, at most ``max_age_seconds`` old (0: fresh every time)."""

    def __init__(
        self,
        compute: Callable[[PackKey], Awaitable[BusinessPack]],
        *,
        max_age_seconds: float,
        kept: int = KEPT,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._compute = compute
        self._monotonic = monotonic
        self._max_age = max_age_seconds
        self._kept = kept
        self._held: OrderedDict[PackKey, Snapshot[BusinessPack]] = OrderedDict()

    async def gather(self, key: PackKey) -> BusinessPack:
        """The gathering done now, neither read from nor kept in the cache."""
        return await self._compute(key)

    async def get(self, key: PackKey) -> BusinessPack:
        """The gathering of ``key``, at most ``max_age`` old."""
        snapshot = self._held.get(key)
        if snapshot is None:
            snapshot = Snapshot(
                lambda: self._compute(key),
                name=f"business {key.month:%Y-%m}",
                max_age_seconds=self._max_age,
                monotonic=self._monotonic,
            )
            self._held[key] = snapshot
            while len(self._held) > self._kept:
                self._held.popitem(last=False)
        self._held.move_to_end(key)
        return await snapshot.get()
