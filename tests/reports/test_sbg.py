"""The shifted-beta-geometric fit recovers the parameters its data were drawn with."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import betaln

from wedsync_success.reports import sbg


def _draw(
    alpha: float, beta: float, n: int, observed: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    theta = rng.beta(alpha, beta, size=n)
    left_in = rng.geometric(theta)  # the month of churn, from 1
    churned = left_in <= observed
    return left_in[churned], np.full(int((~churned).sum()), observed)


@pytest.mark.parametrize(("alpha", "beta"), [(0.7, 3.5), (2.0, 8.0)])
def test_fit_recovers_known_parameters(alpha: float, beta: float) -> None:
    churn_month, alive = _draw(alpha, beta, 40_000, observed=24, seed=11)
    fit = sbg.fit_sbg(churn_month, alive)
    assert fit.converged
    assert fit.alpha == pytest.approx(alpha, rel=0.1)
    assert fit.beta == pytest.approx(beta, rel=0.1)


def test_survival_and_remaining_lifetime_formulas() -> None:
    params = sbg.SbgParameters(alpha=2.0, beta=3.0, converged=True)
    # S(t) = B(a, b + t) / B(a, b): S(1) = b / (a + b) for the shifted beta-geometric.
    assert sbg.survival(params, np.array([0, 1]))[1] == pytest.approx(3 / 5)
    # With alpha > 1 the uncapped remaining lifetime after n renewals is (b + n) / (a - 1).
    long = sbg.expected_remaining(params, np.array([0, 4]), horizon=200_000)
    assert long == pytest.approx([3.0, 7.0], rel=1e-2)
    assert sbg.expected_lifetime(params, horizon=200_000) == pytest.approx(4.0, rel=1e-2)
    capped = sbg.expected_remaining(params, np.array([0]), horizon=1)
    assert capped[0] == pytest.approx(np.exp(betaln(2.0, 4.0) - betaln(2.0, 3.0)))


def test_churn_months_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        sbg.fit_sbg(np.array([0, 1]), np.array([3]))
