"""Bulk random UUIDs are version 4 UUIDs of the RFC 4122 variant, as ``uuid4`` makes."""

from __future__ import annotations

import uuid

from wedsync_success.kit.ids import fresh_uuids


def test_fresh_uuids_are_random_version_4_ids() -> None:
    ids = fresh_uuids(2000)
    assert len(set(ids)) == 2000
    assert {u.version for u in ids} == {4}
    assert {u.variant for u in ids} == {uuid.RFC_4122}
    # Every other bit varies: none is fixed by a mistaken mask.
    fixed = (0xF000 << 64) | (0xC000 << 48)
    varying = 0
    for u in ids:
        varying |= u.int ^ ids[0].int
    assert varying == ~fixed & ((1 << 128) - 1)
    assert fresh_uuids(0) == []
