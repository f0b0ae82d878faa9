"""Explanations against what a healthy supplier looks like: a bad event never helps, the
"would raise the score most" list is the scoring formula replayed, the figures add up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from wedsync_success.config import DEFAULTS_DIR
from wedsync_success.health.components import Signals, compute, weighted_score
from wedsync_success.health.config import (
    COMPONENT_NAMES,
    HealthConfig,
    check_onboarding_milestones,
    load_health_config,
)
from wedsync_success.health.explanation import Explanation, explain_components
from wedsync_success.kit.errors import ConfigError

CONFIG = load_health_config(DEFAULTS_DIR / "health.yaml")
MILESTONES = 10  # the default catalog's


def _explain(
    config: HealthConfig = CONFIG,
    *,
    active_days: float = 16,
    features: float = 6,
    milestones: float = 6,
    clients: float = 9,
    failed: float = 0,
    past_due: bool = False,
    tickets: float = 0,
    referrals: float = 1,
    network: float = 1,
    next_milestone: str | None = None,
) -> tuple[Explanation, dict[str, float]]:
    """Score one supplier with the real formula, then explain it."""
    signals = {
        "engagement": active_days,
        "adoption": features,
        "milestones": milestones,
        "clients": clients,
        "billing": failed,
        "support": tickets,
        "referrals": referrals,
        "network": network,
    }
    scores = compute(
        Signals(
            active_days=np.array([active_days]),
            features_used=np.array([features]),
            milestones_achieved=np.array([milestones]),
            client_actions=np.array([clients]),
            payments_failed=np.array([failed]),
            past_due=np.array([past_due]),
            tickets_opened=np.array([tickets]),
            referral_points=np.array([referrals]),
            network_reach=np.array([network]),
        ),
        config,
        milestones_defined=MILESTONES,
    )
    components = {n: float(v[0]) for n, v in scores.components.items()}
    found = explain_components(
        components, signals, config, milestones_defined=MILESTONES, next_milestone=next_milestone
    )
    assert found.score == float(scores.score[0])
    return found, components


def _score(components: dict[str, float]) -> float:
    return float(weighted_score({n: np.array([v]) for n, v in components.items()}, CONFIG)[0])


def test_a_failed_payment_and_a_ticket_are_gaps_never_strengths() -> None:
    found, _ = _explain(failed=1, tickets=1)
    strengths = {f.component for f in found.strengths}
    gaps = {f.component: f for f in found.gaps}
    assert "billing" not in strengths
    assert "support" not in strengths
    assert gaps["billing"].detail == "1 failed payment in the last 90 days"
    assert gaps["billing"].impact == -4.5  # 0.15 * 30 points
    assert gaps["support"].detail == "1 support ticket opened in the last 30 days"
    assert gaps["support"].impact == -1.0  # 0.05 * 20 points
    raise_most = {i.component: i for i in found.improvements}
    assert raise_most["billing"].points == 4.5
    assert raise_most["billing"].next_step is None  # a failure cannot be undone, only outgrown
    # Everything else is exactly on its healthy score.
    assert sorted(strengths) == [
        "adoption",
        "clients",
        "engagement",
        "milestones",
        "network",
        "referrals",
    ]
    assert all(f.impact == 0 for f in found.strengths)


def test_past_due_is_a_gap_even_without_a_failed_payment() -> None:
    found, components = _explain(past_due=True)
    (billing,) = [f for f in found.gaps if f.component == "billing"]
    assert components["billing"] == 40.0  # the past-due cap
    assert billing.detail == "No failed payments in the last 90 days; the account is past due"
    assert found.improvements[0].action == "Settle the overdue balance"
    assert found.improvements[0].points == 9.0  # 0.15 * 60


def test_inactivity_is_a_gap_with_its_next_step() -> None:
    found, _ = _explain(active_days=4, clients=0, next_milestone="First journey started")
    engagement = next(f for f in found.gaps if f.component == "engagement")
    assert engagement.detail == "Active on 4 days of the last 30"
    assert engagement.healthy_detail == "Healthy: active on 16 of 30 days"
    top = found.improvements[0]
    assert (top.component, top.action) == ("engagement", "Use WedSync on 16 days in 30 (12 more)")
    assert (top.points, top.score_if_reached) == (18.7, 72.3)  # 0.25 * 75: 72.3 - 53.6
    assert (top.next_step, top.next_step_points) == ("One more active day", 1.5)
    clients = next(i for i in found.improvements if i.component == "clients")
    assert clients.action == "Add clients, send forms, start journeys: 9 in 30 days (9 more)"
    assert clients.next_step == "One more client action, e.g. start a client journey"


def test_the_next_milestone_is_named_and_referrals_ask_for_one() -> None:
    found, _ = _explain(milestones=2, referrals=0, next_milestone="First journey started")
    by = {i.component: i for i in found.improvements}
    assert by["milestones"].action == "Reach 6 of 10 milestones (4 more)"
    assert by["milestones"].next_step == "Reach “First journey started”"
    assert by["milestones"].next_step_points == 1.5  # one milestone of 10: 0.15 * 10
    assert by["referrals"].action == "Refer a supplier (a referral that joins counts ×3)"
    assert by["referrals"].next_step is None  # one referral is the whole action
    referrals = next(f for f in found.gaps if f.component == "referrals")
    assert referrals.detail == "No referrals in the last 180 days"


def test_a_supplier_on_every_healthy_score_has_nothing_to_raise() -> None:
    found, _ = _explain(active_days=20, referrals=3)
    assert found.gaps == []
    assert found.improvements == []
    assert found.healthy_score == 83.6
    best = found.strengths[0]
    assert (best.component, best.impact) == ("referrals", 3.3)  # 0.05 * (100 - 33.3)


@settings(max_examples=300, deadline=None)
@given(
    active_days=st.integers(0, 30),
    features=st.integers(0, 8),
    milestones=st.integers(0, MILESTONES),
    clients=st.integers(0, 40),
    failed=st.integers(0, 5),
    past_due=st.booleans(),
    tickets=st.integers(0, 6),
    referrals=st.integers(0, 9),
    network=st.integers(0, 9),
)
def test_strengths_gaps_and_what_ifs_hold_for_any_supplier(
    active_days: int,
    features: int,
    milestones: int,
    clients: int,
    failed: int,
    past_due: bool,
    tickets: int,
    referrals: int,
    network: int,
) -> None:
    found, components = _explain(
        active_days=active_days,
        features=features,
        milestones=milestones,
        clients=clients,
        failed=failed,
        past_due=past_due,
        tickets=tickets,
        referrals=referrals,
        network=network,
    )
    healthy = CONFIG.healthy_scores()
    assert sorted(f.component for f in found.strengths + found.gaps) == sorted(COMPONENT_NAMES)
    for f in found.strengths:
        assert f.status == "on_track"
        assert f.score >= healthy[f.component]
        assert f.impact >= 0
    for f in found.gaps:
        assert f.status == "gap"
        assert f.score < healthy[f.component]
        assert f.impact <= 0
    strengths = {f.component for f in found.strengths}
    if failed or past_due:
        assert "billing" not in strengths
    if tickets:
        assert "support" not in strengths
    if active_days < 16:
        assert "engagement" not in strengths
    points = [i.points for i in found.improvements]
    assert points == sorted(points, reverse=True)
    for item in found.improvements:
        what_if = _score({**components, item.component: healthy[item.component]})
        assert item.score_if_reached == what_if
        assert item.points == round(what_if - found.score, 1) > 0
        gap = next(f for f in found.gaps if f.component == item.component)
        assert gap.impact == -item.points  # the gap costs what reaching healthy would add
        if item.next_step_points is not None:
            assert 0 < item.next_step_points <= item.points
    # Strengths add, gaps cost: together the distance from the healthy score. Scores are
    # rounded to 0.1, so each gap (a difference of two rounded scores) may be 0.1 off the
    # exact weighted difference, and the two scores compared here 0.1 between them.
    total = sum(f.impact for f in found.strengths + found.gaps)
    slack = 0.1 * len(COMPONENT_NAMES) + 0.1 + 1e-9
    assert total == pytest.approx(found.score - found.healthy_score, abs=slack)


@pytest.mark.parametrize("component", ["billing", "support"])
def test_billing_and_support_have_no_healthy_score_to_configure(component: str) -> None:
    raw = yaml.safe_load((DEFAULTS_DIR / "health.yaml").read_text(encoding="utf-8"))
    raw["components"][component]["healthy"] = 70  # "a failed payment is fine" is refused
    with pytest.raises(ValidationError) as refused:
        HealthConfig.model_validate(raw)
    assert refused.value.errors()[0]["loc"] == ("components", component, "healthy")


def test_onboarding_milestones_must_exist() -> None:
    check_onboarding_milestones(CONFIG, set(CONFIG.onboarding.milestones), path=Path("h.yaml"))
    with pytest.raises(ConfigError) as refused:
        check_onboarding_milestones(CONFIG, {"profile_completed"}, path=Path("h.yaml"))
    assert refused.value.details[0] == {
        "field": "onboarding.milestones",
        "reason": "unknown milestone 'first_form_created'",
    }
