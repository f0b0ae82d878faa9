"""Churn drivers that read right: plain facts whichever way they push, grouped with exact
group impacts, stored in the prediction log, and old logged rows still shown."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wedsync_success.churn.explain import (
    GROUP_DRIVERS,
    GROUPS,
    MIN_IMPACT,
    TOP_GROUPS,
    as_logged,
    describe,
    drivers,
    drivers_of_rows,
    group_of,
    grouped,
)
from wedsync_success.churn.features import CATEGORICAL, FeatureSpec

SPEC = FeatureSpec(
    ("profile_completed", "first_client_added"), ("Profile completed", "First client added")
)
NAMES = list(SPEC.names)


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("days_to_profile_completed", 3.2, "Reached: Profile completed, 3 days after signup"),
        ("days_to_profile_completed", 0.0, "Reached: Profile completed, on the day of signup"),
        ("days_to_first_client_added", math.nan, "Not yet: First client added"),
        ("milestones_reached", 0, "No milestones reached"),
        ("milestones_reached", 1, "1 milestone reached"),
        ("days_since_login", 23, "No login for 23 days"),
        ("days_since_login", 1, "Last login yesterday"),
        ("days_since_login", 0, "Logged in today"),
        ("days_since_key_action", 9, "No key action for 9 days"),
        ("logins_30d", 4, "4 logins in the last 30 days"),
        ("logins_7d", 1, "1 login in the last 7 days"),
        ("logins_30d", 0, "No logins in the last 30 days"),
        ("login_days_30d", 5, "Logged in on 5 of the last 30 days"),
        ("login_days_7d", 0, "Not logged in on any of the last 7 days"),
        ("login_days_change_30d", -3, "3 fewer login days than the month before"),
        ("login_days_change_30d", 2, "2 more login days than the month before"),
        ("login_trend_30_90", 1.02, "Logins this month steady against the 90-day average"),
        ("login_trend_7_30", math.nan, "No logins in the last 30 days"),
        ("payments_failed_90d", 2, "2 failed payments in the last 90 days"),
        ("days_since_payment_failed", 12, "Last failed payment 12 days ago"),
        ("days_since_payment_failed", 180, "No failed payment in 180 days"),
        ("tickets_30d", 0, "No support tickets in the last 30 days"),
        ("enquiries_30d", 1, "1 enquiry in the last 30 days"),
        ("tenure_days", 45.4, "A customer for 45 days"),
        ("tenure_days", 400, "A customer for 13 months"),
        ("months_to_peak", 0, "In peak wedding season"),
    ],
)
def test_every_kind_is_a_plain_fact(name: str, value: float, text: str) -> None:
    assert describe(name, value, spec=SPEC) == text


def test_categories_are_facts_too() -> None:
    assert describe("plan", 1.0, categorical=CATEGORICAL) == "On the starter plan"
    assert describe("plan", math.nan, categorical=CATEGORICAL) == "Plan unknown"
    assert describe("mystery_score", 2.5) == "Mystery score = 2.5"  # a model's own feature


def test_features_belong_to_groups() -> None:
    groups = {name: group_of(name) for name in NAMES}
    assert {n for n, g in groups.items() if g == "onboarding"} == {
        "days_to_profile_completed",
        "days_to_first_client_added",
        "milestones_reached",
    }
    assert {n for n, g in groups.items() if g == "logins"} >= {
        "logins_7d",
        "login_days_30d",
        "days_since_login",
        "login_trend_7_30",
        "login_days_change_30d",
    }
    assert {n for n, g in groups.items() if g == "billing"} == {
        "payments_failed_30d",
        "payments_failed_90d",
        "days_since_payment_failed",
        "plan",
    }
    assert "other" not in groups.values()  # every product feature has its group
    assert group_of("something_a_byo_model_has") == "other"


def test_a_milestone_not_reached_reads_right_whichever_way_it_pushes() -> None:
    """The issue's case: 'has not reached First client added' listed as lowering the risk."""
    values = np.full(len(NAMES), 0.0)
    values[NAMES.index("days_to_first_client_added")] = math.nan
    values[NAMES.index("days_to_profile_completed")] = 2.0
    contributions = np.zeros(len(NAMES) + 1)
    contributions[NAMES.index("days_to_first_client_added")] = -0.2  # the model says "lower"
    contributions[NAMES.index("days_to_profile_completed")] = 0.05
    found = drivers(contributions, values, NAMES, spec=SPEC)
    (group,) = found["groups"]
    assert (group["label"], group["impact"], group["direction"]) == (
        "Onboarding milestones",
        -0.15,
        "down",
    )
    assert [(d["text"], d["direction"]) for d in group["drivers"]] == [
        ("Not yet: First client added", "down"),
        ("Reached: Profile completed, 2 days after signup", "up"),
    ]


def _reference(row: np.ndarray, values: np.ndarray) -> list[tuple[str, float, list[str]]]:
    """Groups of one row worked out the slow, obvious way."""
    out = []
    for key in GROUPS:
        members = [i for i, n in enumerate(NAMES) if group_of(n) == key]
        if not members:
            continue
        total = float(row[members].sum())
        listed = sorted(
            (i for i in members if abs(row[i]) > MIN_IMPACT), key=lambda i: -abs(row[i])
        )[:GROUP_DRIVERS]
        out.append((key, total, [NAMES[i] for i in listed]))
    out.sort(key=lambda g: -abs(g[1]))
    return [g for g in out[:TOP_GROUPS] if g[2]]


def test_group_impacts_are_the_exact_sum_of_all_their_features() -> None:
    rng = np.random.default_rng(7)
    contributions = rng.normal(0, 0.2, size=(200, len(NAMES) + 1))
    contributions[:, :5] *= rng.random((200, 5)) < 0.5  # some exact zeros
    values = rng.integers(0, 40, size=(200, len(NAMES))).astype(float)
    found = drivers_of_rows(contributions, values, NAMES, spec=SPEC, sides=False)
    for r, row in enumerate(found):
        expected = _reference(contributions[r, : len(NAMES)], values[r])
        got = [
            (g["group"], g["impact"], [d["feature"] for d in g["drivers"]]) for g in row["groups"]
        ]
        assert [(k, f) for k, _, f in got] == [(k, f) for k, _, f in expected]
        for (_, impact, _), (_, total, _) in zip(got, expected, strict=True):
            assert impact == pytest.approx(total, abs=5e-5)
        assert "up" not in row
        assert "down" not in row


def test_the_log_keeps_groups_and_shows_them_again() -> None:
    rng = np.random.default_rng(3)
    contributions = rng.normal(0, 0.3, size=len(NAMES) + 1)
    values = rng.integers(0, 10, size=len(NAMES)).astype(float)
    found = drivers(contributions, values, NAMES, spec=SPEC)
    logged = as_logged(found)
    assert all({"group", "group_impact", "text", "impact"} <= set(d) for d in logged)
    shown = grouped(logged)
    assert [(g.key, g.label, g.impact) for g in shown] == [
        (g["group"], g["label"], g["impact"]) for g in found["groups"]
    ]
    assert [[line.text for line in g.drivers] for g in shown] == [
        [d["text"] for d in g["drivers"]] for g in found["groups"]
    ]


def test_rows_logged_before_groups_still_render_and_read_right() -> None:
    old = [
        {
            "feature": "days_since_login",
            "value": 21.0,
            "impact": 0.61,
            "text": "no logins in 21 days",
            "direction": "up",
        },
        {
            "feature": "logins_30d",
            "value": 0.0,
            "impact": 0.2,
            "text": "no logins in the last 30 days",
            "direction": "up",
        },
        {
            "feature": "days_to_first_client_added",
            "value": None,
            "impact": -0.12,
            "text": "has not reached 'First client added'",
            "direction": "down",
        },
        {
            "feature": "plan",
            "value": 1.0,
            "impact": 0.03,
            "text": "on the starter plan",
            "direction": "up",
        },
    ]
    shown = grouped(old, milestone_names={"first_client_added": "First client added"})
    assert [(g.label, g.impact, g.direction) for g in shown] == [
        ("Logins", 0.81, "up"),
        ("Onboarding milestones", -0.12, "down"),
        ("Billing and plan", 0.03, "up"),
    ]
    assert [line.text for line in shown[0].drivers] == [
        "No login for 21 days",
        "No logins in the last 30 days",
    ]
    assert shown[1].drivers[0].text == "Not yet: First client added"
    assert grouped([]) == []
