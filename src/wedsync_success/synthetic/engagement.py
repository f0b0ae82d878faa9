"""The latent engagement of each supplier on each day: archetype drift, noise and pre-churn fade.

Engagement is a ``(suppliers, days)`` matrix in 0..1 and zero when the supplier is not a
customer. It wanders with smooth, autocorrelated noise (busy weeks, quiet months) so that two
suppliers of the same archetype look different, and it fades over the weeks between the
decision to leave and the cancellation itself - the signal a churn model has to pick up.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wedsync_success.synthetic.archetypes import engagement_path
from wedsync_success.synthetic.profiles import SupplierFrame
from wedsync_success.synthetic.timeline import DAY, Window

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

WEEKLY_NOISE = 0.12
MONTHLY_NOISE = 0.20
FADE_FLOOR = 0.15
"""Share of normal engagement left on the day of cancellation."""
MIN_ENGAGEMENT = 0.005


def smooth_noise(
    rng: np.random.Generator, n: int, n_days: int, period_days: int, sigma: float
) -> FloatArray:
    """Gaussian noise that varies smoothly over ``period_days`` (linear between knots)."""
    knots = rng.normal(0.0, sigma, size=(n, n_days // period_days + 2))
    position = np.arange(n_days) / period_days
    low = position.astype(np.int64)
    frac = position - low
    result: FloatArray = knots[:, low] * (1.0 - frac) + knots[:, low + 1] * frac
    return result


def tenure_days(frame: SupplierFrame, window: Window) -> FloatArray:
    """Days since signup at the middle of each grid day, shape ``(suppliers, days)``."""
    midday = (window.day_sec + DAY // 2).astype(np.float64)
    result: FloatArray = (midday[None, :] - frame.signup_sec[:, None].astype(np.float64)) / DAY
    return result


def latent_engagement(
    rng: np.random.Generator, frame: SupplierFrame, window: Window, tenure: FloatArray
) -> FloatArray:
    """Engagement before any churn decision; zero on days that end before signup."""
    n = len(frame)
    path = engagement_path(frame.archetype, frame.e0, frame.drift, tenure)
    noise = smooth_noise(rng, n, window.n_days, 7, WEEKLY_NOISE)
    noise += smooth_noise(rng, n, window.n_days, 30, MONTHLY_NOISE)
    variance = WEEKLY_NOISE**2 + MONTHLY_NOISE**2
    engagement = np.clip(path * np.exp(noise - variance / 2.0), MIN_ENGAGEMENT, 1.0)
    engagement[tenure < -0.5] = 0.0
    return engagement


def fade_before_churn(
    engagement: FloatArray, window: Window, decision_sec: IntArray, leave_sec: IntArray
) -> FloatArray:
    """Engagement after the decision to leave: a linear fade to ``FADE_FLOOR``, then nothing.

    ``leave_sec`` may lie beyond the window: such suppliers are still fading at its end
    (at risk, not yet lost), which is exactly what a live platform sees.
    """
    midday = (window.day_sec + DAY // 2).astype(np.float64)[None, :]
    decided = decision_sec < leave_sec
    dec = decision_sec[:, None].astype(np.float64)
    span = np.maximum((leave_sec - decision_sec)[:, None].astype(np.float64), 1.0)
    progress = np.clip((midday - dec) / span, 0.0, 1.0)
    factor = np.where(decided[:, None], 1.0 - (1.0 - FADE_FLOOR) * progress, 1.0)
    faded: FloatArray = engagement * factor
    gone = window.day_sec[None, :] >= leave_sec[:, None]
    faded[gone] = 0.0
    return faded
