"""An import collects cycles less often, and leaves the collector as it found it."""

from __future__ import annotations

import gc

import pytest

from wedsync_success.kit.collector import BULK_THRESHOLD, bulk_job


def _failing_job(seen: list[tuple[tuple[int, ...], int]]) -> None:
    with bulk_job():
        seen.append((gc.get_threshold(), gc.get_freeze_count()))
        raise RuntimeError("the job fails")


def test_a_bulk_job_raises_the_threshold_and_restores_it_even_after_an_error() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    seen: list[tuple[tuple[int, ...], int]] = []
    with pytest.raises(RuntimeError):
        _failing_job(seen)
    [(inside, frozen_inside)] = seen
    assert inside == (BULK_THRESHOLD, *before[1:])
    assert frozen_inside > frozen  # what the process held is out of the collector's way
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen
