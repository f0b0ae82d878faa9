"""Small pure parts: cutoffs, labels, ECE, calibration, explanations, PSI."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from tests.churn.conftest import psi_by_hand
from wedsync_success.churn.calibration import Calibrator, fit_calibrator
from wedsync_success.churn.drift import compare, reference
from wedsync_success.churn.evaluation import expected_calibration_error, metrics
from wedsync_success.churn.explain import describe, drivers
from wedsync_success.churn.features import FeatureSpec
from wedsync_success.churn.labels import churn_labels, training_cutoffs


def test_month_end_cutoffs_need_history_and_a_full_horizon() -> None:
    end = date(2025, 9, 15)
    cutoffs = training_cutoffs(
        date(2025, 1, 10), last_day=end, until=end, horizon_days=60, min_history_days=90
    )
    # history from 2025-04-09 on; 60 observed days after the cutoff by 2025-09-15
    assert cutoffs == [date(2025, 4, 30), date(2025, 5, 31), date(2025, 6, 30)]


def test_no_label_horizon_goes_past_until_and_no_cutoff_past_the_activity() -> None:
    first = date(2025, 1, 10)
    # Churn known only to 2025-07-31 although events go on to September.
    early = training_cutoffs(
        first,
        last_day=date(2025, 9, 15),
        until=date(2025, 7, 31),
        horizon_days=60,
        min_history_days=90,
    )
    assert early == [date(2025, 4, 30), date(2025, 5, 31)]
    assert (
        training_cutoffs(
            first,
            last_day=date(2025, 7, 31),
            until=date(2025, 7, 31),
            horizon_days=60,
            min_history_days=90,
        )
        == early
    )  # 2025-05-31 + 60 days = 2025-07-30: observed; 2025-06-30 + 60 is not
    # Churn known to December, but activity stops mid-June: no cutoff after the events.
    assert training_cutoffs(
        first,
        last_day=date(2025, 6, 15),
        until=date(2025, 12, 31),
        horizon_days=60,
        min_history_days=90,
    ) == [date(2025, 4, 30), date(2025, 5, 31)]
    assert (
        training_cutoffs(
            first,
            last_day=date(2025, 5, 1),
            until=date(2025, 6, 1),
            horizon_days=60,
            min_history_days=90,
        )
        == []
    )


def test_cutoffs_every_n_days_count_back_from_the_latest_usable_day() -> None:
    cutoffs = training_cutoffs(
        date(2025, 1, 1),
        last_day=date(2025, 6, 30),
        until=date(2025, 6, 30),
        horizon_days=28,
        min_history_days=90,
        every_days=7,
    )
    latest = date(2025, 6, 2)  # 2025-06-30 minus the 28-day horizon
    assert cutoffs[-1] == latest
    assert all((b - a).days == 7 for a, b in itertools.pairwise(cutoffs))
    assert cutoffs[0] >= date(2025, 3, 31)  # 90 days of history from 2025-01-01
    assert cutoffs[0] - date(2025, 3, 31) < timedelta(days=7)
    assert len(cutoffs) == 10


def test_labels_are_the_horizon_after_the_cutoff() -> None:
    cutoff = datetime(2025, 5, 1, tzinfo=UTC).timestamp()  # end of 2025-04-30
    day = 86_400.0
    ended = np.array([np.nan, cutoff, cutoff + 1, cutoff + 60 * day, cutoff + 60 * day + 1])
    assert churn_labels(ended, date(2025, 4, 30), 60).tolist() == [
        False,
        False,
        True,
        True,
        False,
    ]


def test_ece_and_metrics() -> None:
    y = np.array([True, False, False, False] * 50)
    assert expected_calibration_error(y, np.full(y.size, 0.25)) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(y.size, 0.75)) == pytest.approx(0.5)
    m = metrics(y, np.where(y, 0.9, 0.1), threshold=0.5)
    assert m["roc_auc"] == 1.0
    assert m["precision"] == 1.0
    assert m["recall"] == 1.0
    assert m["top_decile_lift"] == pytest.approx(4.0)
    one_class = metrics(np.zeros(10, dtype=bool), np.full(10, 0.1), threshold=0.5)
    assert one_class["roc_auc"] is None


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibrators_round_trip_through_json(method: str) -> None:
    rng = np.random.default_rng(0)
    raw = rng.normal(size=2000)
    y = rng.random(2000) < 1 / (1 + np.exp(-(2 * raw - 1)))
    cal = fit_calibrator(raw, y, method)
    again = Calibrator.from_json(cal.to_json())
    np.testing.assert_allclose(again.apply(raw), cal.apply(raw))
    assert expected_calibration_error(y, cal.apply(raw)) < 0.05


def test_plain_words() -> None:
    spec = FeatureSpec(("first_client_added",), ("First client added",))
    cats = {"plan": ("free", "starter")}
    assert describe("days_since_login", 21) == "No login for 21 days"
    assert describe("payments_failed_90d", 3) == "3 failed payments in the last 90 days"
    assert describe("logins_30d", 0) == "No logins in the last 30 days"
    assert describe("plan", 1, categorical=cats) == "On the starter plan"
    assert describe("days_to_first_client_added", math.nan, spec=spec) == (
        "Not yet: First client added"
    )
    assert describe("login_trend_7_30", 0.4) == "Logins this week down 60% on the 30-day average"
    found = drivers(
        np.array([0.5, -0.2, 0.0, -1.0]),
        np.array([21.0, 5.0, 1.0]),
        ["days_since_login", "logins_30d", "tickets_30d"],
    )
    assert [d["feature"] for d in found["up"]] == ["days_since_login"]
    assert [d["feature"] for d in found["down"]] == ["logins_30d"]


def test_psi_is_zero_for_the_training_distribution_and_large_for_a_shifted_one() -> None:
    """Numeric: 0..999 gives decile edges 99.9, 199.8, ..., 899.1, a tenth of rows in each
    bin. Shifted by 500, live rows fill bins 5-8 with a tenth each and the top bin with
    six tenths (900..1499). Categorical: a/b/c shares 0.5/0.3/0.2 become 0.2/0.3/0.5."""
    numeric = np.arange(1000, dtype=np.float64)
    plan = np.repeat([0.0, 1.0, 2.0], [500, 300, 200])
    names = ["x", "plan"]
    ref = reference(np.column_stack([numeric, plan]), names, {"plan": ("a", "b", "c")})
    assert ref["x"]["edges"] == pytest.approx([99.9 * k for k in range(1, 10)])

    same = {d.feature: d for d in compare(ref, np.column_stack([numeric, plan]), names)}
    assert (same["x"].psi, same["plan"].psi) == (0.0, 0.0)
    assert {d.status for d in same.values()} == {"stable"}

    moved_plan = np.repeat([0.0, 1.0, 2.0], [200, 300, 500])
    shifted = {
        d.feature: d for d in compare(ref, np.column_stack([numeric + 500, moved_plan]), names)
    }
    tenths = [0.1] * 10 + [0.0]  # ten bins and the missing-value bin
    expected_x = psi_by_hand(tenths, [0.0] * 5 + [0.1] * 4 + [0.6, 0.0])
    expected_plan = psi_by_hand([0.5, 0.3, 0.2, 0.0], [0.2, 0.3, 0.5, 0.0])
    assert expected_x == pytest.approx(4.3463, abs=1e-4)
    assert expected_plan == pytest.approx(0.6 * math.log(2.5))
    assert shifted["x"].psi == pytest.approx(expected_x, abs=1e-4)
    assert shifted["plan"].psi == pytest.approx(expected_plan, abs=1e-4)
    assert (shifted["x"].status, shifted["plan"].status) == ("drifted", "drifted")
    assert [
        d.feature for d in compare(ref, np.column_stack([numeric + 500, moved_plan]), names)
    ] == [
        "x",
        "plan",
    ]  # most drifted first


def test_psi_bands_and_missing_values() -> None:
    """A feature missing for a fifth of live rows moves that share into the missing bin;
    the bands are: above 0.25 drifted, above 0.1 moderate, else stable."""
    numeric = np.arange(1000, dtype=np.float64)
    ref = reference(numeric.reshape(-1, 1), ["x"], {})
    live = numeric.copy()
    live[::5] = np.nan  # one row in five, spread over every bin
    (result,) = compare(ref, live.reshape(-1, 1), ["x"])
    expected = psi_by_hand([0.1] * 10 + [0.0], [0.08] * 10 + [0.2])
    assert result.psi == pytest.approx(expected, abs=1e-4)
    assert result.status == "drifted"
    plan = np.repeat([0.0, 1.0, 2.0], [500, 300, 200]).reshape(-1, 1)
    plan_ref = reference(plan, ["plan"], {"plan": ("a", "b", "c")})
    moved = np.repeat([0.0, 1.0, 2.0], [350, 300, 350]).reshape(-1, 1)
    (moderate,) = compare(plan_ref, moved, ["plan"])
    expected_moderate = psi_by_hand([0.5, 0.3, 0.2, 0.0], [0.35, 0.3, 0.35, 0.0])
    assert 0.1 < expected_moderate < 0.25
    assert moderate.psi == pytest.approx(expected_moderate, abs=1e-4)
    assert moderate.status == "moderate"
    (calendar,) = compare(ref, live.reshape(-1, 1), ["x"], calendar=frozenset({"x"}))
    assert calendar.status == "calendar"
