"""Estimators for measuring a playbook against its randomised holdout: pure and vectorised.

Uplift is the difference of two retention proportions, treated minus control, with
Newcombe's hybrid score interval (Newcombe 1998, "Interval estimation for the difference
between independent proportions", method 10). Each arm gets its Wilson score interval
``(l, u)`` and the two are combined as

    low  = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)
    high = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)

with ``d = p1 - p2``. Unlike the Wald interval it never leaves ``[-1, 1]``, keeps close to
its nominal coverage for small arms and for rates near 0 or 1 (a holdout of a few dozen
suppliers, a 95 % retention), and is defined when one arm has no events at all. It is
undefined only when an arm is empty; then the estimate carries ``None`` and a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
CountLike = int | npt.ArrayLike


def z_value(confidence: float) -> float:
    """The two-sided standard normal quantile for ``confidence`` (1.95996… for 0.95)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be strictly between 0 and 1")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _counts(successes: CountLike, n: CountLike) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(successes, dtype=np.float64)
    total = np.asarray(n, dtype=np.float64)
    if np.any(total < 0) or np.any(x < 0) or np.any(x > total):
        raise ValueError("counts must satisfy 0 <= successes <= n")
    return np.broadcast_arrays(x, total)  # type: ignore[return-value]


def wilson_interval(
    successes: CountLike, n: CountLike, *, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Proportion, Wilson score interval low and high, elementwise; NaN where ``n == 0``."""
    x, total = _counts(successes, n)
    z = z_value(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / total
        centre = (2.0 * x + z * z) / (2.0 * (total + z * z))
        half = z * np.sqrt(z * z + 4.0 * x * (1.0 - p)) / (2.0 * (total + z * z))
    # Exact ends at p = 0 and p = 1 (the formula gives them up to rounding).
    low = np.where(x == 0, 0.0, centre - half)
    high = np.where(x == total, 1.0, centre + half)
    empty = total == 0
    return (
        np.where(empty, np.nan, p),
        np.where(empty, np.nan, low),
        np.where(empty, np.nan, high),
    )


def newcombe_interval(
    x1: CountLike,
    n1: CountLike,
    x2: CountLike,
    n2: CountLike,
    *,
    confidence: float = 0.95,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Difference ``x1/n1 - x2/n2`` and its hybrid score interval, elementwise.

    NaN where either arm is empty; callers that publish the result turn NaN into ``None``.
    """
    p1, l1, u1 = wilson_interval(x1, n1, confidence=confidence)
    p2, l2, u2 = wilson_interval(x2, n2, confidence=confidence)
    d = p1 - p2
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, np.clip(low, -1.0, 1.0), np.clip(high, -1.0, 1.0)


@dataclass(frozen=True)
class Uplift:
    """Treated minus control retention, with its interval; ``None`` fields say why in
    ``reason``."""

    treated_rate: float | None
    control_rate: float | None
    difference: float | None
    low: float | None
    high: float | None
    confidence: float
    reason: str | None = None


def _finite(value: FloatArray) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


def uplift(
    treated_retained: int,
    treated_n: int,
    control_retained: int,
    control_n: int,
    confidence: float = 0.95,
) -> Uplift:
    """Retention uplift of the treated arm over the control arm, with Newcombe's interval."""
    d, low, high = newcombe_interval(
        treated_retained, treated_n, control_retained, control_n, confidence=confidence
    )
    treated_rate = treated_retained / treated_n if treated_n else None
    control_rate = control_retained / control_n if control_n else None
    empty = [name for name, n in (("treated", treated_n), ("control", control_n)) if n == 0]
    reason = f"no {' and no '.join(empty)} runs observed" if empty else None
    return Uplift(
        treated_rate=treated_rate,
        control_rate=control_rate,
        difference=_finite(d),
        low=_finite(low),
        high=_finite(high),
        confidence=confidence,
        reason=reason,
    )


def save_rate(recovered: int, lost: int) -> float | None:
    """At-risk suppliers recovered / (recovered + lost), the design notes' save rate;
    ``None`` when nobody was either yet."""
    if recovered < 0 or lost < 0:
        raise ValueError("counts must not be negative")
    total = recovered + lost
    return recovered / total if total else None


def mover_sum(
    estimates: npt.ArrayLike, lows: npt.ArrayLike, highs: npt.ArrayLike
) -> tuple[float, float, float]:
    """Sum of independent estimates and its interval by MOVER (Zou & Donner 2008).

    The same recovery of variance from each part's own interval that Newcombe's method uses
    for a difference, applied to a sum: ``sum - sqrt(sum (e - l)^2)`` and
    ``sum + sqrt(sum (u - e)^2)``, so asymmetric intervals stay asymmetric. Parts must be
    independent; suppliers enrolled in several of the summed playbooks make it a little
    narrow.
    """
    e = np.asarray(estimates, dtype=np.float64)
    low = np.asarray(lows, dtype=np.float64)
    high = np.asarray(highs, dtype=np.float64)
    total = float(np.sum(e))
    return (
        total,
        total - float(np.sqrt(np.sum((e - low) ** 2))),
        total + float(np.sqrt(np.sum((high - e) ** 2))),
    )
