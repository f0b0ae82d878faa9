"""Behaviour archetypes: the hidden types of supplier, and how their engagement moves over time.

Every supplier belongs to one archetype, which the platform never sees. The archetype sets
the supplier's latent engagement at signup and its drift afterwards (thriving suppliers grow,
slow starters ramp up late, declining ones decay, dormant ones fade almost at once); all the
observable behaviour - logins, client work, payments, support tickets and, through the churn
hazard, cancellation - is drawn from that latent level. Keeping the archetype out of every
emitted field is what makes the data honest ground truth for health scores and churn models.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Archetype:
    """Parameters of one behaviour archetype."""

    name: str
    share: float
    """Fraction of the population."""
    engagement_beta: tuple[float, float]
    """Beta(a, b) distribution of latent engagement at signup."""
    tier_weights: tuple[float, float, float, float]
    """Plan tier chosen at signup: free, starter, professional, scale."""
    profile_probability: float
    """Chance the business profile is ever completed."""
    onboarding_probability: tuple[float, float, float]
    """Chance of the first form, first client and first journey, each given the previous step."""
    onboarding_delay_days: tuple[float, float, float, float]
    """Mean delay of profile, first form, first client, first journey (each after the last)."""
    referral_rate: float
    """Referrals sent per active day at full engagement."""
    payment_fail_extra: float
    """Added chance that a subscription charge fails (cards left to expire, disputes)."""
    upgrade_probability: float
    downgrade_probability: float
    reason_weights: tuple[float, float, float, float, float, float]
    """Cancellation reasons, in ``catalog.CANCELLATION_REASONS`` order."""


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype(
        name="thriving",
        share=0.20,
        engagement_beta=(9.0, 2.5),
        tier_weights=(0.08, 0.30, 0.42, 0.20),
        profile_probability=0.98,
        onboarding_probability=(0.97, 0.97, 0.94),
        onboarding_delay_days=(0.3, 1.0, 2.0, 3.0),
        referral_rate=0.035,
        payment_fail_extra=0.0,
        upgrade_probability=0.35,
        downgrade_probability=0.0,
        reason_weights=(0.15, 0.05, 0.25, 0.30, 0.15, 0.10),
    ),
    Archetype(
        name="steady",
        share=0.40,
        engagement_beta=(7.0, 5.0),
        tier_weights=(0.20, 0.40, 0.30, 0.10),
        profile_probability=0.93,
        onboarding_probability=(0.92, 0.92, 0.85),
        onboarding_delay_days=(1.5, 3.0, 5.0, 7.0),
        referral_rate=0.006,
        payment_fail_extra=0.005,
        upgrade_probability=0.12,
        downgrade_probability=0.04,
        reason_weights=(0.25, 0.15, 0.20, 0.15, 0.15, 0.10),
    ),
    Archetype(
        name="slow_starter",
        share=0.15,
        engagement_beta=(3.0, 7.0),
        tier_weights=(0.35, 0.40, 0.20, 0.05),
        profile_probability=0.85,
        onboarding_probability=(0.85, 0.85, 0.75),
        onboarding_delay_days=(12.0, 25.0, 30.0, 30.0),
        referral_rate=0.004,
        payment_fail_extra=0.005,
        upgrade_probability=0.30,
        downgrade_probability=0.02,
        reason_weights=(0.25, 0.30, 0.15, 0.10, 0.10, 0.10),
    ),
    Archetype(
        name="declining",
        share=0.15,
        engagement_beta=(7.0, 4.0),
        tier_weights=(0.20, 0.40, 0.30, 0.10),
        profile_probability=0.92,
        onboarding_probability=(0.90, 0.90, 0.82),
        onboarding_delay_days=(2.0, 4.0, 6.0, 8.0),
        referral_rate=0.003,
        payment_fail_extra=0.04,
        upgrade_probability=0.02,
        downgrade_probability=0.30,
        reason_weights=(0.20, 0.25, 0.30, 0.05, 0.05, 0.15),
    ),
    Archetype(
        name="dormant",
        share=0.10,
        engagement_beta=(2.5, 7.0),
        tier_weights=(0.45, 0.35, 0.15, 0.05),
        profile_probability=0.55,
        onboarding_probability=(0.45, 0.45, 0.35),
        onboarding_delay_days=(6.0, 12.0, 20.0, 25.0),
        referral_rate=0.0,
        payment_fail_extra=0.02,
        upgrade_probability=0.03,
        downgrade_probability=0.10,
        reason_weights=(0.15, 0.60, 0.10, 0.10, 0.05, 0.0),
    ),
)
ARCHETYPE_NAMES: tuple[str, ...] = tuple(a.name for a in ARCHETYPES)
THRIVING, STEADY, SLOW_STARTER, DECLINING, DORMANT = range(5)


def column(values: tuple[float, ...] | list[float], codes: IntArray) -> FloatArray:
    """Per-supplier value of an archetype parameter (``values`` in archetype order)."""
    result: FloatArray = np.asarray(values, dtype=np.float64)[codes]
    return result


@dataclass(frozen=True)
class Drift:
    """Per-supplier shape of the engagement path; each archetype uses some of the fields."""

    target: FloatArray
    """Level the path moves towards (thriving growth, slow-starter ramp, decay floor)."""
    pivot_days: FloatArray
    """Days after signup when the change happens (ramp midpoint, decline onset)."""
    scale_days: FloatArray
    """How fast it happens (growth/decay time constant, ramp width)."""


def draw_drift(
    rng: np.random.Generator,
    codes: IntArray,
    e0: FloatArray,
    signup_day: FloatArray,
    n_days: int,
) -> Drift:
    """Random drift shapes; ``signup_day`` is relative to the window (negative = before it).

    A declining supplier that signed up before the window starts declining at some point
    inside it, so older accounts do not all arrive already burnt out.
    """
    n = codes.size
    target = np.empty(n)
    pivot = np.zeros(n)
    scale = np.ones(n)
    u = rng.random((3, n))

    m = codes == THRIVING
    target[m] = np.minimum(0.97, e0[m] + 0.05 + 0.12 * u[0, m])
    scale[m] = 30.0 + 60.0 * u[1, m]

    m = codes == STEADY
    target[m] = e0[m]

    m = codes == SLOW_STARTER
    target[m] = np.minimum(0.92, e0[m] + 0.25 + 0.20 * u[0, m])
    pivot[m] = 45.0 + 135.0 * u[1, m]
    scale[m] = 8.0 + 17.0 * u[2, m]

    m = codes == DECLINING
    target[m] = 0.04 + 0.08 * u[0, m]
    in_window = signup_day >= 0
    fresh = m & in_window
    pivot[fresh] = 30.0 + 270.0 * u[1, fresh]
    old = m & ~in_window
    pivot[old] = -signup_day[old] + 0.8 * n_days * u[1, old]
    scale[m] = 40.0 + 80.0 * u[2, m]

    m = codes == DORMANT
    target[m] = np.minimum(e0[m], 0.03 + 0.05 * u[0, m])
    scale[m] = 10.0 + 25.0 * u[1, m]
    return Drift(target=target, pivot_days=pivot, scale_days=scale)


def engagement_path(
    codes: IntArray, e0: FloatArray, drift: Drift, tenure_days: FloatArray
) -> FloatArray:
    """Noise-free latent engagement of each supplier (rows) on each day (columns).

    ``tenure_days`` is days since signup, shape ``(suppliers, days)``; values before signup
    are computed as at signup and masked by the caller.
    """
    t = np.maximum(tenure_days, 0.0)
    start = e0[:, None]
    target = drift.target[:, None]
    pivot = drift.pivot_days[:, None]
    scale = drift.scale_days[:, None]
    path = np.broadcast_to(start, t.shape).copy()

    m = codes == THRIVING
    path[m] = start[m] + (target[m] - start[m]) * (1.0 - np.exp(-t[m] / scale[m]))

    m = codes == SLOW_STARTER
    ramp = 1.0 / (1.0 + np.exp(-(t[m] - pivot[m]) / scale[m]))
    ramp0 = 1.0 / (1.0 + np.exp(pivot[m] / scale[m]))
    path[m] = start[m] + (target[m] - start[m]) * np.maximum(ramp - ramp0, 0.0) / (1.0 - ramp0)

    m = codes == DECLINING
    since = np.maximum(t[m] - pivot[m], 0.0)
    path[m] = target[m] + (start[m] - target[m]) * np.exp(-since / scale[m])

    m = codes == DORMANT
    path[m] = target[m] + (start[m] - target[m]) * np.exp(-t[m] / scale[m])
    return path
