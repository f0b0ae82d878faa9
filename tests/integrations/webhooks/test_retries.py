"""The retry schedule, worked by hand: full-jitter ceilings, the window, Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wedsync_success.kit.retries import (
    CAP,
    backoff,
    next_attempt,
    retry_after,
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


class Extreme(random.Random):
    """Draws the top of every interval, to read the ceilings off."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_the_ceilings_double_from_thirty_seconds_to_twelve_hours() -> None:
    ceilings = [backoff(n, Extreme()).total_seconds() for n in range(1, 14)]
    assert ceilings == [30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 30720, 43200, 43200]


@given(attempts=st.integers(1, 10_000), seed=st.integers(0, 2**32))
def test_a_wait_is_drawn_between_zero_and_its_ceiling(attempts: int, seed: int) -> None:
    wait = backoff(attempts, random.Random(seed))
    assert timedelta(0) <= wait <= min(CAP, timedelta(seconds=30 * 2 ** min(attempts - 1, 20)))


def test_retries_stop_once_the_next_attempt_would_leave_the_window() -> None:
    window = timedelta(hours=72)
    first = NOW - timedelta(hours=71)
    assert (
        next_attempt(attempts=12, now=NOW, first_due_at=first, window=window, rng=Extreme()) is None
    )  # 12 h would land at 83 h
    assert next_attempt(
        attempts=1, now=NOW, first_due_at=first, window=window, rng=Extreme()
    ) == NOW + timedelta(seconds=30)


def test_the_whole_schedule_spans_about_three_days() -> None:
    """With the mean draw (half of each ceiling), a delivery that always fails is tried 22
    times: 11 waits of 15 s .. 2 h 8 min (30,705 s), then 6 h waits, 10 of which fit."""

    class Mean(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return (a + b) / 2

    now, attempts = NOW, 1
    while (
        due := next_attempt(
            attempts=attempts, now=now, first_due_at=NOW, window=timedelta(hours=72), rng=Mean()
        )
    ) is not None:
        now, attempts = due, attempts + 1
    assert attempts == 22
    assert now - NOW == timedelta(seconds=30_705 + 10 * 21_600)


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        (None, None),
        ("120", timedelta(seconds=120)),
        (" 7 ", timedelta(seconds=7)),
        ("Mon, 15 Jun 2026 12:10:00 GMT", timedelta(minutes=10)),
        ("Mon, 15 Jun 2026 11:00:00 GMT", timedelta(0)),
        ("999999999999", CAP),
        ("soon", None),
        ("-5", None),
        ("", None),
        ("²", None),  # a Unicode digit int() refuses
        ("٣", None),  # a decimal digit int() reads, but not the header's ASCII DIGIT
    ],
)
def test_retry_after(header: str | None, wait: timedelta | None) -> None:
    assert retry_after(header, now=NOW) == wait


@given(st.text(max_size=40))
def test_any_retry_after_header_is_read_or_ignored(header: str) -> None:
    wait = retry_after(header, now=NOW)
    assert wait is None or timedelta(0) <= wait <= CAP
