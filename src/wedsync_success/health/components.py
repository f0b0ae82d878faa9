"""The seven score components, computed with NumPy over every supplier at once.

Each component maps a raw signal (a count over a window) to 0-100; the score is the
weighted sum. Explanations measure each component's impact against a neutral 50, so the
impacts of a supplier always add up to ``score - 50``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wedsync_success.health.config import COMPONENT_NAMES, HealthConfig, RiskLevel

FloatArray = npt.NDArray[np.float64]
NEUTRAL = 50.0


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


def compute(signals: Signals, config: HealthConfig, *, milestones_defined: int) -> Scores:
    """Component scores, weighted score (one decimal) and risk level for every supplier."""
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
    }
    components = {name: np.round(values, 1) for name, values in components.items()}
    weights = config.weights()
    score = np.round(sum(weights[n] * components[n] for n in COMPONENT_NAMES), 1)
    return Scores(components=components, score=score, risk_level=risk_levels(score, config))


def risk_levels(score: FloatArray, config: HealthConfig) -> npt.NDArray[np.str_]:
    """The risk band of each score."""
    bands = config.risk_bands
    return np.select(
        [score >= bands.healthy, score >= bands.watch, score >= bands.at_risk],
        [RiskLevel.HEALTHY.value, RiskLevel.WATCH.value, RiskLevel.AT_RISK.value],
        default=RiskLevel.CRITICAL.value,
    )


def impacts(components: dict[str, float], config: HealthConfig) -> dict[str, float]:
    """Points each component adds to (or takes from) a neutral score of 50."""
    weights = config.weights()
    return {name: weights[name] * (components[name] - NEUTRAL) for name in COMPONENT_NAMES}
