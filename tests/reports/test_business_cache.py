"""The Business page's cache: one gathering per key within max_age, refreshed behind the
scenes after it, the least recently used key dropped beyond the limit."""

from __future__ import annotations

from datetime import date
from typing import Any

from wedsync_success.reports.business_cache import BusinessPacks, PackKey
from wedsync_success.reports.history_schemas import SegmentBy


class Gatherings:
    def __init__(self) -> None:
        self.calls: list[PackKey] = []

    async def __call__(self, key: PackKey) -> Any:
        self.calls.append(key)
        return (key, len(self.calls))


def key(month: int) -> PackKey:
    return PackKey(month=date(2026, month, 1), months=12, segment=SegmentBy.VENDOR_TYPE)


async def test_a_visit_within_max_age_reuses_the_gathering() -> None:
    now = [0.0]
    gather = Gatherings()
    packs = BusinessPacks(gather, max_age_seconds=300, monotonic=lambda: now[0])
    first = await packs.get(key(5))
    now[0] = 299.0
    assert await packs.get(key(5)) == first
    assert gather.calls == [key(5)]
    await packs.get(key(4))  # another month is its own gathering
    assert gather.calls == [key(5), key(4)]


async def test_an_old_gathering_is_served_while_a_new_one_is_made() -> None:
    now = [0.0]
    gather = Gatherings()
    packs = BusinessPacks(gather, max_age_seconds=300, monotonic=lambda: now[0])
    first = await packs.get(key(5))
    now[0] = 301.0
    assert await packs.get(key(5)) == first  # at once, the stale one
    await packs._held[key(5)].settled()
    assert await packs.get(key(5)) == (key(5), 2)


async def test_the_least_recently_used_key_goes_first() -> None:
    gather = Gatherings()
    packs = BusinessPacks(gather, max_age_seconds=300, kept=2)
    await packs.get(key(1))
    await packs.get(key(2))
    await packs.get(key(1))  # used again: key 2 is now the oldest
    await packs.get(key(3))
    assert set(packs._held) == {key(1), key(3)}
    await packs.get(key(2))
    assert gather.calls == [key(1), key(2), key(3), key(2)]


async def test_max_age_zero_and_gather_are_always_fresh() -> None:
    gather = Gatherings()
    packs = BusinessPacks(gather, max_age_seconds=0)
    await packs.get(key(5))
    await packs.get(key(5))
    await packs.gather(key(5))
    assert len(gather.calls) == 3
