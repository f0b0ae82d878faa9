"""Subscription history: the rules deriving a supplier's subscription from its billed
periods, on hand-computed small histories (the import: tests/cli/test_import_subscriptions.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from wedsync_success.suppliers.periods import Period, current_subscription


def day(month: int, d: int = 1, year: int = 2026) -> datetime:
    return datetime(year, month, d, tzinfo=UTC)


def period(
    plan: str, start: datetime, end: datetime | None, mrr: int, *, discount: int = 0
) -> Period:
    return Period(
        plan=plan,
        starts_at=start,
        ends_at=end,
        mrr_minor=mrr,
        discount_minor=discount,
        currency="GBP",
    )


def test_an_upgrade_continues_the_subscription() -> None:
    history = [
        period("starter", day(1), day(3), 1900),
        period("professional", day(3), None, 4900),
    ]
    now = current_subscription(history, at=day(5), status_now="active")
    assert now is not None
    assert (now.status, now.plan_tier, now.mrr_minor) == ("active", "professional", 4900)
    assert (now.started_at, now.ended_at) == (day(1), None)


def test_two_subscriptions_at_once_add_up_net_of_discounts() -> None:
    history = [
        period("professional", day(1), None, 4900, discount=900),
        period("starter", day(2), day(8), 1900),
    ]
    now = current_subscription(history, at=day(4), status_now="past_due")
    assert now is not None
    assert (now.status, now.plan_tier, now.mrr_minor) == ("past_due", "professional", 5900)
    later = current_subscription(history, at=day(9), status_now="active")
    assert later is not None
    assert (later.plan_tier, later.mrr_minor) == ("professional", 4000)


def test_a_period_ending_at_the_instant_is_over_then() -> None:
    history = [period("starter", day(1), day(4), 1900)]
    before = current_subscription(history, at=day(3, 31), status_now="active")
    assert before is not None
    assert before.status == "active"
    at_end = current_subscription(history, at=day(4), status_now="active")
    assert at_end is not None
    assert (at_end.status, at_end.ended_at, at_end.mrr_minor) == ("cancelled", day(4), 1900)


def test_a_later_period_after_a_gap_is_a_reactivation() -> None:
    history = [
        period("starter", day(1), day(2), 1900),
        period("scale", day(4), None, 12900),
    ]
    gap = current_subscription(history, at=day(3), status_now="active")
    assert gap is not None
    assert (gap.status, gap.started_at, gap.ended_at) == ("cancelled", day(1), day(2))
    back = current_subscription(history, at=day(5), status_now="cancelled")
    assert back is not None
    assert (back.status, back.plan_tier, back.started_at) == ("active", "scale", day(4))


def test_no_period_begun_says_nothing() -> None:
    assert (
        current_subscription(
            [period("starter", day(6), None, 1900)], at=day(5), status_now="active"
        )
        is None
    )
