"""The shifted-beta-geometric (sBG) model of contractual renewals (Fader & Hardie, "How to
project customer retention", 2007), fitted by maximum likelihood with scipy.

Each supplier renews every month with its own probability ``1 - theta``, ``theta`` drawn from
Beta(alpha, beta) across suppliers. With ``B`` the beta function:

- P(churn in month t) = B(alpha + 1, beta + t - 1) / B(alpha, beta), t = 1, 2, ...
- P(still a customer after t months) = S(t) = B(alpha, beta + t) / B(alpha, beta)

A supplier that churned in month t contributes log P(T = t); one still active after n
renewals contributes log S(n). Given n renewals, its own theta is Beta(alpha, beta + n), and
its expected remaining lifetime is the sum of S(n + k) / S(n) over the months k to come
(capped at a horizon: with alpha <= 1 the uncapped mean is infinite).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SbgParameters:
    alpha: float
    beta: float
    converged: bool


def negative_log_likelihood(
    log_params: FloatArray,
    churn_month: IntArray,
    churn_count: FloatArray,
    alive_after: IntArray,
    alive_count: FloatArray,
) -> float:
    from scipy.special import betaln  # deferred: see kit/deferred.py

    alpha, beta = np.exp(log_params)
    base = betaln(alpha, beta)
    churned = betaln(alpha + 1.0, beta + churn_month - 1.0) - base
    alive = betaln(alpha, beta + alive_after) - base
    return -float(churn_count @ churned + alive_count @ alive)


def fit_sbg(churn_month: IntArray, renewals_alive: IntArray) -> SbgParameters:
    """Fit on the month each churned supplier left in (1 = during its first month) and the
    renewals each active supplier has made so far."""
    if churn_month.size and churn_month.min() < 1:
        raise ValueError("churn months start at 1")
    months, m_counts = np.unique(churn_month, return_counts=True)
    alive, a_counts = np.unique(renewals_alive, return_counts=True)
    from scipy.optimize import minimize  # deferred: see kit/deferred.py

    result = minimize(
        negative_log_likelihood,
        x0=np.zeros(2),
        args=(months, m_counts.astype(np.float64), alive, a_counts.astype(np.float64)),
        method="L-BFGS-B",
        bounds=[(-10.0, 10.0), (-10.0, 10.0)],
    )
    alpha, beta = np.exp(result.x)
    return SbgParameters(alpha=float(alpha), beta=float(beta), converged=bool(result.success))


def survival(params: SbgParameters, months: IntArray | FloatArray) -> FloatArray:
    """S(t): the share of a new cohort still a customer after ``months`` renewals."""
    from scipy.special import betaln  # deferred: see kit/deferred.py

    s: FloatArray = np.exp(
        betaln(params.alpha, params.beta + months) - betaln(params.alpha, params.beta)
    )
    return s


def expected_remaining(params: SbgParameters, renewals: IntArray, *, horizon: int) -> FloatArray:
    """Expected further months of suppliers alive after ``renewals`` renewals, counting at most
    ``horizon`` months ahead: sum over k = 1..horizon of S(n + k) / S(n)."""
    from scipy.special import betaln  # deferred: see kit/deferred.py

    distinct, back = np.unique(renewals, return_inverse=True)
    ahead = np.arange(1, horizon + 1, dtype=np.float64)
    b = params.beta + distinct.astype(np.float64)[:, None]
    ratio = np.exp(betaln(params.alpha, b + ahead[None, :]) - betaln(params.alpha, b))
    out: FloatArray = ratio.sum(axis=1)[back]
    return out


def expected_lifetime(params: SbgParameters, *, horizon: int) -> float:
    """A new supplier's expected lifetime in months (its first month included), capped."""
    return float(survival(params, np.arange(horizon, dtype=np.float64)).sum())
