"""Uplift and save rate: Newcombe's published values, an independent Wilson, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binomtest, norm

from wedsync_success.interventions.measurement import (
    mover_sum,
    newcombe_interval,
    save_rate,
    uplift,
    wilson_interval,
    z_value,
)

# Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10 (hybrid score).
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE_TABLE_II)
def test_matches_newcombes_published_intervals(
    counts: tuple[int, int, int, int], expected: tuple[float, float]
) -> None:
    estimate = uplift(*counts)
    assert estimate.difference == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert (estimate.low, estimate.high) == (
        pytest.approx(expected[0], abs=5e-5),
        pytest.approx(expected[1], abs=5e-5),
    )


def _independent(x1: int, n1: int, x2: int, n2: int, confidence: float) -> tuple[float, float]:
    """Method 10 from SciPy's own Wilson interval."""
    w1 = binomtest(x1, n1).proportion_ci(confidence_level=confidence, method="wilson")
    w2 = binomtest(x2, n2).proportion_ci(confidence_level=confidence, method="wilson")
    p1, p2 = x1 / n1, x2 / n2
    low = p1 - p2 - math.hypot(p1 - w1.low, w2.high - p2)
    high = p1 - p2 + math.hypot(w1.high - p1, p2 - w2.low)
    return low, high


arms = st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@given(arms, arms, st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_agrees_with_scipy_wilson(
    treated: tuple[int, int], control: tuple[int, int], confidence: float
) -> None:
    estimate = uplift(*treated, *control, confidence=confidence)
    low, high = _independent(*treated, *control, confidence)
    assert (estimate.low, estimate.high) == (
        pytest.approx(low, abs=1e-9),
        pytest.approx(high, abs=1e-9),
    )


@given(arms, arms)
def test_interval_contains_the_estimate_and_stays_within_bounds(
    treated: tuple[int, int], control: tuple[int, int]
) -> None:
    estimate = uplift(*treated, *control)
    assert estimate.low is not None
    assert estimate.high is not None
    assert estimate.difference is not None
    assert -1.0 <= estimate.low <= estimate.difference <= estimate.high <= 1.0


@given(arms, arms, st.integers(2, 50))
def test_interval_narrows_as_the_arms_grow(
    treated: tuple[int, int], control: tuple[int, int], factor: int
) -> None:
    small = uplift(*treated, *control)
    big = uplift(*(factor * v for v in treated), *(factor * v for v in control))
    assert small.low is not None
    assert small.high is not None
    assert big.low is not None
    assert big.high is not None
    assert big.high - big.low <= small.high - small.low + 1e-12


def test_vectorised_over_arrays() -> None:
    x1, n1 = np.array([56, 9, 0]), np.array([70, 10, 0])
    d, low, high = newcombe_interval(x1, n1, np.array([48, 3, 1]), np.array([80, 10, 2]))
    assert d.shape == low.shape == high.shape == (3,)
    assert low[0] == pytest.approx(0.0524, abs=5e-5)
    assert np.isnan([d[2], low[2], high[2]]).all()  # an empty arm: undefined, not a crash


def test_wilson_is_exact_at_zero_and_all() -> None:
    p, low, high = wilson_interval([0, 10], [10, 10])
    assert (low[0], high[1]) == (0.0, 1.0)
    assert p.tolist() == [0.0, 1.0]


@pytest.mark.parametrize(
    ("treated_n", "control_n", "reason"),
    [
        (0, 10, "no treated runs observed"),
        (10, 0, "no control runs observed"),
        (0, 0, "no treated and no control runs observed"),
    ],
)
def test_empty_arm_gives_none_with_a_reason(treated_n: int, control_n: int, reason: str) -> None:
    estimate = uplift(0, treated_n, 0, control_n)
    assert (estimate.difference, estimate.low, estimate.high) == (None, None, None)
    assert estimate.reason == reason
    assert (estimate.treated_rate is None) == (treated_n == 0)
    assert (estimate.control_rate is None) == (control_n == 0)


@pytest.mark.parametrize("counts", [(3, 2, 0, 1), (-1, 2, 0, 1), (0, -1, 0, 1)])
def test_impossible_counts_are_refused(counts: tuple[int, int, int, int]) -> None:
    with pytest.raises(ValueError, match="counts"):
        uplift(*counts)


def test_z_value_is_the_normal_quantile() -> None:
    assert z_value(0.95) == pytest.approx(norm.ppf(0.975))
    with pytest.raises(ValueError, match="confidence"):
        z_value(1.0)


def test_save_rate() -> None:
    assert save_rate(3, 1) == 0.75
    assert save_rate(0, 0) is None
    with pytest.raises(ValueError, match="negative"):
        save_rate(-1, 2)


def test_mover_sum_recovers_each_parts_spread() -> None:
    # Two parts: 10 [4, 13] and 20 [15, 32]: the sum 30, low 30 - hypot(6, 5), high
    # 30 + hypot(3, 12): asymmetric, and never wider than adding the ends.
    total, low, high = mover_sum([10, 20], [4, 15], [13, 32])
    assert total == 30
    assert low == pytest.approx(30 - math.hypot(6, 5))
    assert high == pytest.approx(30 + math.hypot(3, 12))
    assert low > 4 + 15
    assert high < 13 + 32
    assert mover_sum([5], [1], [7]) == (5, 1, 7)  # one part: its own interval
