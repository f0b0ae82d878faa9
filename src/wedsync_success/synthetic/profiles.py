"""Per-supplier attributes drawn once, as columns: who each supplier is and when things happen.

Everything a supplier "is" - archetype, vendor type, country, signup moment, plan and any
planned plan change, team size, business size, onboarding timetable - is drawn here for the
whole population at once with vectorised numpy calls. The day-by-day simulation then works on
slices of these columns, so its cost does not depend on Python-level loops over attributes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wedsync_success.synthetic import archetypes as arch
from wedsync_success.synthetic import catalog as cat
from wedsync_success.synthetic.timeline import (
    DAY,
    SIGNUP_SEASON,
    SIGNUP_WEEKDAY,
    WORK_HOURS,
    Window,
    seconds_of_day,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

NEVER = np.iinfo(np.int64).max // 4
"""A time (in seconds) later than any simulated moment: "this never happens"."""

PRE_WINDOW_SHARE = 0.15
"""Suppliers who signed up before the window and were still customers when it opened."""
PRE_WINDOW_MAX_AGE_DAYS = 3 * 365
TRIAL_DAYS = 14

VENDOR_CLIENT_VOLUME: tuple[float, ...] = (1.0, 0.8, 1.4, 1.1, 0.6, 1.0, 1.0, 1.4, 1.3, 1.0, 0.9)
"""Relative client throughput: cake makers and venues juggle many more couples than planners."""

VENDOR_EXTRA_USERS: tuple[float, ...] = (0.1, 0.1, 0.6, 0.3, 0.5, 0.6, 0.3, 0.1, 0.3, 0.1, 0.2)
"""Chance of one more team member: venues and caterers have staff, photographers rarely."""

USER_COUNT_WEIGHTS: tuple[float, ...] = (0.50, 0.30, 0.13, 0.07)
CALENDAR_SYNC_SHARE = 0.06


@dataclass(frozen=True)
class SupplierFrame:
    """Column-per-attribute view of the suppliers (row ``i`` is supplier ``i``)."""

    archetype: IntArray
    e0: FloatArray
    """Latent engagement at signup."""
    vendor: IntArray
    country: IntArray
    currency: IntArray
    tz_offset_sec: IntArray
    southern: BoolArray
    signup_sec: IntArray
    signup_day: FloatArray
    """Signup as a (fractional) day of the window grid; negative before the window."""
    tier0: IntArray
    """Plan chosen at signup."""
    tier1: IntArray
    """Plan after the planned change (equal to ``tier0`` when none is planned)."""
    change_sec: IntArray
    """When the plan changes, or ``NEVER``."""
    n_users: IntArray
    client_scale: FloatArray
    """Size of the business: multiplies client work, invoices and messages."""
    login_scale: FloatArray
    """Personal habit: some owners check in five times a day, others once."""
    profile_sec: IntArray
    form_sec: IntArray
    client_sec: IntArray
    journey_sec: IntArray
    """First profile completion, form, client and journey, or ``NEVER``."""
    calendar_provider: IntArray
    """Calendar integration (index into ``CALENDAR_PROVIDERS``), or -1 for none."""
    feature_order: IntArray
    """Each supplier's own order of discovering features, shape ``(n, len(FEATURES))``."""
    drift: arch.Drift

    def __len__(self) -> int:
        return int(self.archetype.size)

    def rows(self, lo: int, hi: int) -> SupplierFrame:
        """Suppliers ``lo..hi-1`` as a frame of their own."""
        values = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, arch.Drift):
                value = arch.Drift(
                    target=value.target[lo:hi],
                    pivot_days=value.pivot_days[lo:hi],
                    scale_days=value.scale_days[lo:hi],
                )
            else:
                value = value[lo:hi]
            values[f.name] = value
        return SupplierFrame(**values)


def categorical(rng: np.random.Generator, weights: FloatArray) -> IntArray:
    """One draw per row of ``weights`` (rows need not be normalised)."""
    cumulative = np.cumsum(weights, axis=1)
    u = rng.random(weights.shape[0]) * cumulative[:, -1]
    index = (u[:, None] >= cumulative).sum(axis=1)
    result: IntArray = np.minimum(index, weights.shape[1] - 1).astype(np.int64)
    return result


def _choice(rng: np.random.Generator, n: int, weights: tuple[float, ...]) -> IntArray:
    p = np.asarray(weights, dtype=np.float64)
    result: IntArray = rng.choice(p.size, size=n, p=p / p.sum()).astype(np.int64)
    return result


def _signups(rng: np.random.Generator, n: int, window: Window, tz_offset_sec: IntArray) -> IntArray:
    """Signup seconds: most inside the window (engagement season heavy), some before it."""
    growth = 1.0 + 0.3 * np.arange(window.n_days) / max(window.n_days - 1, 1)
    weights = window.monthly(SIGNUP_SEASON) * window.by_weekday(SIGNUP_WEEKDAY) * growth
    day = rng.choice(window.n_days, size=n, p=weights / weights.sum())
    inside = window.day_sec[day] + seconds_of_day(rng, n, WORK_HOURS) - tz_offset_sec
    inside = np.clip(inside, window.start_sec, window.end_sec - 600)
    age = rng.integers(TRIAL_DAYS * DAY, PRE_WINDOW_MAX_AGE_DAYS * DAY, size=n)
    before = window.start_sec - age
    result: IntArray = np.where(rng.random(n) < PRE_WINDOW_SHARE, before, inside)
    return result


def _onboarding(
    rng: np.random.Generator, codes: IntArray, signup_sec: IntArray
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Times of the onboarding steps: profile, and the chain first form -> client -> journey.

    Each chain step happens only if the one before it did; delays are gamma-distributed
    around the archetype's means, so slow starters take weeks and dormant ones often stop.
    """
    n = codes.size
    params = arch.ARCHETYPES
    delays = np.stack(
        [arch.column([p.onboarding_delay_days[k] for p in params], codes) for k in range(4)]
    )
    gamma = rng.gamma(1.5, 1.0 / 1.5, size=(4, n)) * delays * DAY
    profile_ok = rng.random(n) < arch.column([p.profile_probability for p in params], codes)
    profile = np.where(profile_ok, signup_sec + 120 + gamma[0].astype(np.int64), NEVER)

    chain: list[IntArray] = []
    previous_ok = np.ones(n, dtype=np.bool_)
    previous_sec = signup_sec + 300
    for k in range(3):
        chance = arch.column([p.onboarding_probability[k] for p in params], codes)
        ok = previous_ok & (rng.random(n) < chance)
        sec = previous_sec + 60 + gamma[k + 1].astype(np.int64)
        chain.append(np.where(ok, sec, NEVER))
        previous_ok, previous_sec = ok, sec
    return profile, chain[0], chain[1], chain[2]


def _plan_changes(
    rng: np.random.Generator,
    codes: IntArray,
    tier0: IntArray,
    signup_sec: IntArray,
    drift: arch.Drift,
) -> tuple[IntArray, IntArray]:
    """Planned upgrades (growing suppliers) and downgrades (declining ones): new tier, when."""
    n = codes.size
    params = arch.ARCHETYPES
    up_p = arch.column([p.upgrade_probability for p in params], codes)
    down_p = arch.column([p.downgrade_probability for p in params], codes)
    u = rng.random(n)
    upgrade = (u < up_p) & (tier0 < cat.SCALE)
    downgrade = ~upgrade & (u >= up_p) & (u < up_p + down_p) & (tier0 > cat.FREE)
    tier1 = tier0 + upgrade.astype(np.int64) - downgrade.astype(np.int64)

    days = (TRIAL_DAYS + rng.exponential(100.0, n)).astype(np.float64)
    slow = codes == arch.SLOW_STARTER
    days[slow] = drift.pivot_days[slow] + rng.normal(0.0, 10.0, int(slow.sum()))
    declining = codes == arch.DECLINING
    days[declining] = drift.pivot_days[declining] + rng.exponential(40.0, int(declining.sum()))
    other_down = downgrade & ~declining
    days[other_down] = rng.uniform(30.0, 400.0, int(other_down.sum()))
    days = np.maximum(days, TRIAL_DAYS)
    change = signup_sec + (days * DAY).astype(np.int64)
    change_sec: IntArray = np.where(upgrade | downgrade, change, NEVER)
    return tier1, change_sec


def draw_frame(rng: np.random.Generator, n: int, window: Window) -> SupplierFrame:
    """Draw the attributes of ``n`` suppliers living in ``window``."""
    params = arch.ARCHETYPES
    codes = _choice(rng, n, tuple(p.share for p in params))
    a = arch.column([p.engagement_beta[0] for p in params], codes)
    b = arch.column([p.engagement_beta[1] for p in params], codes)
    e0 = np.clip(rng.beta(a, b), 0.02, 0.98)

    vendor = _choice(rng, n, cat.VENDOR_SHARES)
    country = _choice(rng, n, cat.COUNTRY_SHARES)
    currency = np.asarray(cat.COUNTRY_CURRENCY, dtype=np.int64)[country]
    tz_offset_sec = np.asarray(cat.COUNTRY_UTC_OFFSET_HOURS, dtype=np.int64)[country] * 3600
    southern = np.asarray(cat.SOUTHERN_HEMISPHERE, dtype=np.bool_)[country]
    signup_sec = _signups(rng, n, window, tz_offset_sec)
    signup_day = (signup_sec - window.day0_sec) / DAY
    drift = arch.draw_drift(rng, codes, e0, signup_day, window.n_days)

    tier_weights = np.asarray([p.tier_weights for p in params], dtype=np.float64)[codes]
    tier0 = categorical(rng, tier_weights)
    tier1, change_sec = _plan_changes(rng, codes, tier0, signup_sec, drift)

    n_users = _choice(rng, n, USER_COUNT_WEIGHTS) + 1
    extra = rng.random((2, n))
    n_users += extra[0] < np.asarray(VENDOR_EXTRA_USERS)[vendor]
    n_users += (extra[1] < 0.5) & (np.maximum(tier0, tier1) == cat.SCALE)
    n_users = np.minimum(n_users, 4)

    client_scale = np.asarray(VENDOR_CLIENT_VOLUME)[vendor] * rng.lognormal(0.0, 0.35, n)
    login_scale = rng.lognormal(0.0, 0.3, n)
    profile_sec, form_sec, client_sec, journey_sec = _onboarding(rng, codes, signup_sec)
    has_calendar = rng.random(n) < CALENDAR_SYNC_SHARE
    calendar_provider = np.where(has_calendar, rng.integers(0, 3, n), -1).astype(np.int64)
    feature_order = np.argsort(
        rng.random((n, len(cat.FEATURES))) + 0.08 * np.arange(len(cat.FEATURES)), axis=1
    ).astype(np.int64)
    return SupplierFrame(
        archetype=codes,
        e0=e0,
        vendor=vendor,
        country=country,
        currency=currency,
        tz_offset_sec=tz_offset_sec,
        southern=southern,
        signup_sec=signup_sec,
        signup_day=signup_day,
        tier0=tier0,
        tier1=tier1,
        change_sec=change_sec,
        n_users=n_users.astype(np.int64),
        client_scale=client_scale,
        login_scale=login_scale,
        profile_sec=profile_sec,
        form_sec=form_sec,
        client_sec=client_sec,
        journey_sec=journey_sec,
        calendar_provider=calendar_provider,
        feature_order=feature_order,
        drift=drift,
    )
