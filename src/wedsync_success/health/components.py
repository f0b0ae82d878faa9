"""The eight score components, computed with NumPy over every supplier at once.

Each component maps a raw signal (a count over a window) to 0-100; the score is the
weighted sum. Explanations (``health.explanation``) compare each component with what a
healthy supplier scores on it and replay this same formula for their what-ifs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wedsync_success.health.config import COMPONENT_NAMES, HealthConfig, RiskLevel

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Signals:
    """Raw inputs per supplier, aligned arrays (one element per supplier)."""

    active_days: FloatArray
    features_used: FloatArray
    milestones_achieved: FloatArray
    client_actions: FloatArray
    payments_failed: FloatArray
    past_due: npt.NDArray[np.bool_]
    tickets_opened: FloatArray
    referral_points: FloatArray
    network_reach: FloatArray

    def by_component(self) -> dict[str, FloatArray]:
        """The signal that drives each component."""
        return {
            "engagement": self.active_days,
            "adoption": self.features_used,
            "milestones": self.milestones_achieved,
            "clients": self.client_actions,
            "billing": self.payments_failed,
            "support": self.tickets_opened,
            "referrals": self.referral_points,
            "network": self.network_reach,
        }


@dataclass(frozen=True)
class Scores:
    components: dict[str, FloatArray]
    score: FloatArray
    risk_level: npt.NDArray[np.str_]


def _toward_target(value: FloatArray, target: float) -> FloatArray:
    return np.clip(value / target, 0.0, 1.0) * 100.0


def _penalised(value: FloatArray, per_event: float) -> FloatArray:
    return np.clip(100.0 - per_event * value, 0.0, 100.0)


def component_scores(
    signals: Signals, config: HealthConfig, *, milestones_defined: int
) -> dict[str, FloatArray]:
    """Each component, 0-100 to one decimal, for every supplier."""
    c = config.components
    billing = _penalised(signals.payments_failed, c.billing.penalty_per_event)
    billing = np.where(signals.past_due, np.minimum(billing, c.billing.past_due_cap), billing)
    components = {
        "engagement": _toward_target(signals.active_days, c.engagement.target),
        "adoption": _toward_target(signals.features_used, c.adoption.target),
        "milestones": _toward_target(signals.milestones_achieved, max(milestones_defined, 1)),
        "clients": _toward_target(signals.client_actions, c.clients.target),
        "billing": billing,
        "support": _penalised(signals.tickets_opened, c.support.penalty_per_event),
        "referrals": _toward_target(signals.referral_points, c.referrals.target),
        "network": _toward_target(signals.network_reach, c.network.target),
    }
    return {name: np.round(values, 1) for name, values in components.items()}


def weighted_score(components: Mapping[str, FloatArray], config: HealthConfig) -> FloatArray:
    """The score of component values: their weighted sum, to one decimal."""
    weights = config.weights()
    total = np.zeros(np.shape(components[COMPONENT_NAMES[0]]), dtype=np.float64)
    for name in COMPONENT_NAMES:
        total = total + weights[name] * np.asarray(components[name], dtype=np.float64)
    result: FloatArray = np.round(total, 1)
    return result


def compute(
    signals: Signals,
    config: HealthConfig,
    *,
    milestones_defined: int,
    onboarding: BoolArray | None = None,
) -> Scores:
    """Component scores, weighted score (one decimal) and risk level for every supplier.

    ``onboarding`` marks the suppliers still in their onboarding period: they are scored
    like anyone but their risk level is ``onboarding``, not a band.
    """
    components = component_scores(signals, config, milestones_defined=milestones_defined)
    score = weighted_score(components, config)
    levels = risk_levels(score, config)
    if onboarding is not None:
        levels = np.where(onboarding, RiskLevel.ONBOARDING.value, levels)
    return Scores(components=components, score=score, risk_level=levels)


def risk_levels(score: FloatArray, config: HealthConfig) -> npt.NDArray[np.str_]:
    """The risk band of each score."""
    bands = config.risk_bands
    return np.select(
        [score >= bands.healthy, score >= bands.watch, score >= bands.at_risk],
        [RiskLevel.HEALTHY.value, RiskLevel.WATCH.value, RiskLevel.AT_RISK.value],
        default=RiskLevel.CRITICAL.value,
    )


def onboarding_mask(days_since_signup: FloatArray, config: HealthConfig) -> BoolArray:
    """Suppliers fewer than ``onboarding.days`` whole days after their signup day."""
    result: BoolArray = days_since_signup < config.onboarding.days
    return result
