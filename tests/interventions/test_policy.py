"""Quiet hours in the supplier's own time, and the global holdout's spread."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time

from hypothesis import given
from hypothesis import strategies as st

from wedsync_success.interventions.enrolment import in_global_holdout
from wedsync_success.interventions.playbooks import QuietHours
from wedsync_success.interventions.policy import quiet_until, supplier_zone

NIGHT = QuietHours(start=time(21, 0), end=time(8, 0))
LONDON = supplier_zone(time_zone=None, country="GB")


def test_a_message_at_ten_at_night_in_london_waits_for_eight_in_the_morning() -> None:
    now = datetime(2026, 7, 1, 21, 0, tzinfo=UTC)  # 22:00 BST
    assert quiet_until(now, LONDON, NIGHT) == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)


def test_after_midnight_the_window_ends_the_same_morning() -> None:
    now = datetime(2026, 1, 15, 3, 30, tzinfo=UTC)  # 03:30 GMT
    assert quiet_until(now, LONDON, NIGHT) == datetime(2026, 1, 15, 8, 0, tzinfo=UTC)


def test_daytime_is_not_quiet_and_the_end_itself_is_open() -> None:
    assert quiet_until(datetime(2026, 1, 15, 12, 0, tzinfo=UTC), LONDON, NIGHT) is None
    assert quiet_until(datetime(2026, 1, 15, 8, 0, tzinfo=UTC), LONDON, NIGHT) is None
    assert quiet_until(datetime(2026, 1, 15, 21, 0, tzinfo=UTC), LONDON, NIGHT) is not None


def test_the_supplier_zone_wins_over_the_country_and_unknown_falls_back_to_utc() -> None:
    sydney = supplier_zone(time_zone=None, country="AU")
    noon_utc = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # 23:00 in Sydney
    assert quiet_until(noon_utc, sydney, NIGHT) == datetime(2026, 1, 15, 21, 0, tzinfo=UTC)
    assert str(supplier_zone(time_zone="America/Denver", country="US")) == "America/Denver"
    assert str(supplier_zone(time_zone="Mars/Olympus", country="ZZ")) == "UTC"


def test_a_window_that_does_not_wrap_midnight() -> None:
    lunch = QuietHours(start=time(12, 0), end=time(14, 0), channels=[])
    assert quiet_until(datetime(2026, 1, 15, 13, 0, tzinfo=UTC), LONDON, lunch) == datetime(
        2026, 1, 15, 14, 0, tzinfo=UTC
    )
    assert quiet_until(datetime(2026, 1, 15, 11, 59, tzinfo=UTC), LONDON, lunch) is None


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)))
def test_held_messages_always_leave_at_the_end_of_a_quiet_window(moment: datetime) -> None:
    now = moment.replace(tzinfo=UTC)
    until = quiet_until(now, LONDON, NIGHT)
    if until is None:
        return
    assert now < until
    assert until.astimezone(LONDON).time() == time(8, 0)
    assert quiet_until(until, LONDON, NIGHT) is None


def test_the_global_holdout_takes_about_its_share_and_always_the_same_suppliers() -> None:
    ids = [uuid.UUID(int=i * 7919 + 13) for i in range(4000)]
    chosen = [s for s in ids if in_global_holdout(s, 0.1)]
    assert 300 < len(chosen) < 500
    assert chosen == [s for s in ids if in_global_holdout(s, 0.1)]
    assert not any(in_global_holdout(s, 0.0) for s in ids)


def test_the_window_boundaries_are_exact() -> None:
    lunch = QuietHours(start=time(12, 0), end=time(14, 0), channels=[])
    noon = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    assert quiet_until(noon, LONDON, lunch) == datetime(2026, 1, 15, 14, 0, tzinfo=UTC)
    assert quiet_until(datetime(2026, 1, 15, 14, 0, tzinfo=UTC), LONDON, lunch) is None
    nine_pm = datetime(2026, 1, 15, 21, 0, tzinfo=UTC)  # the start of a wrapping window
    until = quiet_until(nine_pm, LONDON, NIGHT)
    assert until == datetime(2026, 1, 16, 8, 0, tzinfo=UTC)
    assert until is not None
    assert until.tzinfo is UTC  # answered in the caller's zone


def test_an_unknown_zone_of_the_supplier_falls_back_to_its_country() -> None:
    assert str(supplier_zone(time_zone="Mars/Olympus", country="GB")) == "Europe/London"
