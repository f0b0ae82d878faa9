"""When a failed outbound delivery (a webhook, a marketing batch) is tried again.

Shared by outbound webhooks (:mod:`integrations.webhooks`) and the marketing adapter
(:mod:`integrations.marketing`), which pass their own ``base`` and ``cap``.

Exponential backoff with full jitter: after the n-th failed attempt the wait is drawn
uniformly from ``[0, min(CAP, BASE * 2**(n-1))]`` (webhooks: 30 s, 1 min, 2 min, … up
to 12 h), so receivers coming back from an outage are not hit by every sender at once. A
``Retry-After`` answer (seconds or an HTTP date) is a floor on the wait, itself capped at
12 h. Retries go on while the next attempt would still fall inside the retry window (for
webhooks 72 h after the delivery was first due, ``WEDSYNC_WEBHOOKS_RETRY_WINDOW_HOURS``):
about three days,
some 20 attempts (22 with average draws); after that the delivery is failed (a resend
or a replay queues it again).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

BASE = timedelta(seconds=30)
CAP = timedelta(hours=12)


def backoff(
    attempts: int, rng: random.Random, *, base: timedelta = BASE, cap: timedelta = CAP
) -> timedelta:
    """The full-jitter wait after ``attempts`` failed attempts (``attempts`` ≥ 1)."""
    ceiling = min(cap, base * (2 ** min(attempts - 1, 20)))
    return timedelta(seconds=rng.uniform(0, ceiling.total_seconds()))


def retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """A ``Retry-After`` header as a wait (capped at :data:`CAP`); None if absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # delay-seconds are ASCII digits ("²" is a digit too)
        wait = timedelta(seconds=int(text[:9]))
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        wait = max(timedelta(0), when - now)
    return min(wait, CAP)


def next_attempt(
    *,
    attempts: int,
    now: datetime,
    first_due_at: datetime,
    window: timedelta,
    rng: random.Random,
    floor: timedelta | None = None,
    base: timedelta = BASE,
    cap: timedelta = CAP,
) -> datetime | None:
    """When to try again after ``attempts`` failed attempts; None once the window is spent."""
    wait = backoff(attempts, rng, base=base, cap=cap)
    if floor is not None:
        wait = max(wait, floor)
    due = now + wait
    return due if due <= first_due_at + window else None
