"""When suppliers decide to leave, when they actually cancel, and why.

Churn is a daily hazard driven by latent engagement (rising steeply as engagement falls), by
the plan (free and starter customers leave more easily than those who built their business
on the professional and scale plans) and by recent payment failures. It is never copied from
the archetype: a thriving supplier can still close its business, a dormant one can linger.

A supplier that "decides" to leave cancels two to six weeks later, and its engagement fades in
between (see ``engagement.fade_before_churn``); that lead time is what makes churn predictable
from behaviour, as it is in real subscription businesses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wedsync_success.synthetic import archetypes as arch
from wedsync_success.synthetic import catalog as cat
from wedsync_success.synthetic.profiles import NEVER, SupplierFrame, categorical
from wedsync_success.synthetic.timeline import DAY, Window

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

BASE_HAZARD = 0.00025
"""Daily chance of leaving whatever the engagement: retirements, mergers, life."""
DISENGAGED_HAZARD = 0.011
"""Added daily hazard at zero engagement, scaled by ``(1 - engagement) ** 3``."""
TIER_HAZARD: tuple[float, ...] = (1.5, 1.25, 0.9, 0.7)
"""Hazard multiplier of each plan tier (free, starter, professional, scale)."""
LEAD_MIN_DAYS, LEAD_MAX_DAYS = 14, 42
"""Days between deciding to leave and cancelling."""


@dataclass(frozen=True)
class ChurnTimeline:
    decision_sec: IntArray
    """When the supplier decided to leave, or ``NEVER``."""
    leave_sec: IntArray
    """When it cancels (possibly after the window's end), or ``NEVER``."""
    churned: BoolArray
    """Cancelled inside the window."""


def daily_hazard(
    frame: SupplierFrame, window: Window, engagement: FloatArray, extra: FloatArray
) -> FloatArray:
    """Daily probability of deciding to leave, for each supplier and day of the grid."""
    tier_factor = np.asarray(TIER_HAZARD)
    factor = np.where(
        window.day_sec[None, :] >= frame.change_sec[:, None],
        tier_factor[frame.tier1][:, None],
        tier_factor[frame.tier0][:, None],
    )
    hazard = factor * (BASE_HAZARD + DISENGAGED_HAZARD * (1.0 - engagement) ** 3) + extra
    result: FloatArray = np.where(engagement > 0.0, hazard, 0.0)
    return result


@dataclass(frozen=True)
class DecisionDraws:
    """The randomness of the decision to leave, drawn once so that the same supplier can be
    resolved under two hazards (with and without outreach) on common random numbers."""

    threshold: FloatArray
    within_day: IntArray
    lead: IntArray


def draw_decisions(rng: np.random.Generator, n: int) -> DecisionDraws:
    """An exponential threshold, a moment in the day and a lead time per supplier."""
    return DecisionDraws(
        threshold=rng.exponential(1.0, n),
        within_day=rng.integers(0, DAY, n),
        lead=rng.integers(LEAD_MIN_DAYS * DAY, LEAD_MAX_DAYS * DAY, n),
    )


def resolve(
    frame: SupplierFrame, window: Window, hazard: FloatArray, draws: DecisionDraws
) -> ChurnTimeline:
    """The first day the accumulated hazard exceeds the threshold, and the lead time."""
    crossed = np.cumsum(hazard, axis=1) >= draws.threshold[:, None]
    decided = crossed[:, -1]
    day = np.argmax(crossed, axis=1)
    decision = np.maximum(window.day_sec[day] + draws.within_day, frame.signup_sec + 3600)
    decision_sec = np.where(decided, decision, NEVER)
    leave_sec = np.where(decided, decision + draws.lead, NEVER)
    return ChurnTimeline(
        decision_sec=decision_sec,
        leave_sec=leave_sec,
        churned=leave_sec < window.end_sec,
    )


def reasons(rng: np.random.Generator, frame: SupplierFrame, final_tier: IntArray) -> IntArray:
    """A cancellation reason per supplier (index into ``CANCELLATION_REASONS``)."""
    weights = np.asarray([p.reason_weights for p in arch.ARCHETYPES])[frame.archetype]
    reason = categorical(rng, weights)
    # Nobody on the free plan leaves because it costs too much.
    free = (final_tier == cat.FREE) & (reason == cat.TOO_EXPENSIVE)
    result: IntArray = np.where(free, cat.NOT_USING, reason)
    return result
