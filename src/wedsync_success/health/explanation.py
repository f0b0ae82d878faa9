"""Why a supplier has its score, measured against what a healthy supplier looks like.

Each component is compared with its *healthy* score (``health.yaml``; full marks for billing
and support, so a failed payment or a ticket is never a strength): at or above it the
component is on track, below it a gap. A gap's cost, and what closing it would add, come from
replaying the scoring formula (``components``) with the component on its healthy score: the
points are the what-if score minus the current score, never a hard-coded figure. The next
concrete step (one more active day, the next milestone) is replayed the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from wedsync_success.health.components import (
    Signals,
    component_scores,
    weighted_score,
)
from wedsync_success.health.config import COMPONENT_NAMES, HealthConfig
from wedsync_success.health.models import HealthScore

Status = Literal["on_track", "gap"]
_EPSILON = 1e-9


@dataclass(frozen=True)
class Factor:
    """One component against its healthy score."""

    component: str
    score: float
    healthy: float
    weight: float
    impact: float
    """Points against the healthy score: >= 0 when on track, minus the gap's cost below it."""
    status: Status
    detail: str
    healthy_detail: str


@dataclass(frozen=True)
class Improvement:
    """What would raise the score: one component brought to its healthy score."""

    component: str
    action: str
    points: float
    score_if_reached: float
    next_step: str | None
    next_step_points: float | None


@dataclass(frozen=True)
class Explanation:
    score: float
    """The score the formula gives these components (the stored score, unless the weights
    changed since it was computed)."""
    healthy_score: float
    """The score of a supplier exactly on its healthy score in every component."""
    strengths: list[Factor]
    gaps: list[Factor]
    improvements: list[Improvement]


@dataclass(frozen=True)
class _Supplier:
    """One supplier's stored components and signals, and the formula replayed on them."""

    components: dict[str, float]
    signals: dict[str, float]
    config: HealthConfig
    milestones_defined: int

    @property
    def past_due(self) -> bool:
        """Billing below what its failed payments alone cost means the past-due cap applied."""
        per_event = self.config.components.billing.penalty_per_event
        uncapped = round(min(100.0, max(0.0, 100.0 - per_event * self.signals["billing"])), 1)
        return self.components["billing"] < uncapped - _EPSILON

    def score(self, components: Mapping[str, float] | None = None) -> float:
        values = self.components if components is None else components
        return float(weighted_score({n: np.array([values[n]]) for n in values}, self.config)[0])

    def component_at(self, name: str, signal: float) -> float:
        """The component ``name`` would score with ``signal`` (the others unchanged)."""
        values = {**self.signals, name: signal}
        signals = Signals(
            active_days=np.array([values["engagement"]]),
            features_used=np.array([values["adoption"]]),
            milestones_achieved=np.array([values["milestones"]]),
            client_actions=np.array([values["clients"]]),
            payments_failed=np.array([values["billing"]]),
            past_due=np.array([self.past_due]),
            tickets_opened=np.array([values["support"]]),
            referral_points=np.array([values["referrals"]]),
            network_reach=np.array([values["network"]]),
        )
        scores = component_scores(signals, self.config, milestones_defined=self.milestones_defined)
        return float(scores[name][0])

    def gain(self, name: str, value: float) -> tuple[float, float]:
        """(What-if score, points it adds) with component ``name`` at ``value``."""
        current = self.score()
        what_if = self.score({**self.components, name: value})
        return what_if, round(what_if - current, 1)

    def needed(self, name: str, healthy: float) -> int:
        """The smallest whole signal (days, features, actions...) that scores ``healthy``."""
        unit = {
            "engagement": self.config.components.engagement.target,
            "adoption": self.config.components.adoption.target,
            "milestones": float(max(self.milestones_defined, 1)),
            "clients": self.config.components.clients.target,
            "referrals": self.config.components.referrals.target,
            "network": self.config.components.network.target,
        }[name]
        n = max(0, math.ceil(healthy / 100.0 * unit - _EPSILON) - 1)
        while self.component_at(name, n) < healthy - _EPSILON:
            n += 1
        return n


def explain_components(
    components: Mapping[str, float],
    signals: Mapping[str, float],
    config: HealthConfig,
    *,
    milestones_defined: int,
    next_milestone: str | None = None,
) -> Explanation:
    """Strengths, gaps and what would raise the score most, for one supplier's components."""
    who = _Supplier(
        components={n: float(components[n]) for n in COMPONENT_NAMES},
        signals={n: float(signals[n]) for n in COMPONENT_NAMES},
        config=config,
        milestones_defined=milestones_defined,
    )
    healthy = config.healthy_scores()
    weights = config.weights()
    words = _Words(who, next_milestone)
    strengths: list[Factor] = []
    gaps: list[Factor] = []
    improvements: list[Improvement] = []
    for name in COMPONENT_NAMES:
        value, target = who.components[name], healthy[name]
        on_track = value >= target - _EPSILON
        if on_track:
            impact = round(weights[name] * (value - target), 1)
        else:
            what_if, points = who.gain(name, target)
            impact = -points
            if points > 0:
                step, step_points = words.next_step(name)
                improvements.append(
                    Improvement(
                        component=name,
                        action=words.action(name),
                        points=points,
                        score_if_reached=what_if,
                        next_step=step,
                        next_step_points=step_points,
                    )
                )
        factor = Factor(
            component=name,
            score=value,
            healthy=target,
            weight=weights[name],
            impact=impact + 0.0,  # no "-0.0"
            status="on_track" if on_track else "gap",
            detail=words.fact(name),
            healthy_detail=words.healthy(name),
        )
        (strengths if on_track else gaps).append(factor)
    return Explanation(
        score=who.score(),
        healthy_score=who.score(healthy),
        strengths=sorted(strengths, key=lambda f: (-f.impact, -f.weight)),
        gaps=sorted(gaps, key=lambda f: f.impact),
        improvements=sorted(improvements, key=lambda i: -i.points),
    )


def explain(
    current: HealthScore,
    config: HealthConfig,
    *,
    milestones_defined: int,
    next_milestone: str | None = None,
) -> Explanation:
    """:func:`explain_components` of a stored score."""
    return explain_components(
        {n: getattr(current, n) for n in COMPONENT_NAMES},
        {n: getattr(current, f"{n}_signal") for n in COMPONENT_NAMES},
        config,
        milestones_defined=milestones_defined,
        next_milestone=next_milestone,
    )


def _plural(n: float, word: str, plural: str | None = None) -> str:
    """``1 ticket``, ``3 tickets``, ``No tickets``."""
    count = int(n) if float(n).is_integer() else n
    return (
        f"{'No' if count == 0 else f'{count:g}'} {word if count == 1 else (plural or word + 's')}"
    )


_STEPS: Mapping[str, str] = {
    "engagement": "One more active day",
    "adoption": "Try one more core feature",
    "clients": "One more client action, e.g. start a client journey",
    "referrals": "Send one referral",
    "network": "Bring one more supplier into WedSync",
}
"""The next step of the components that grow one unit at a time (milestones name theirs)."""


@dataclass(frozen=True)
class _Words:
    """The plain words of one supplier's explanation: facts, targets, actions, next steps."""

    who: _Supplier
    next_milestone: str | None

    def fact(self, name: str) -> str:
        """What the signal is, e.g. "Active on 4 days of the last 30"."""
        signal, c = self.who.signals[name], self.who.config.components
        match name:
            case "engagement":
                if signal == 0:
                    return f"Not active in the last {c.engagement.window_days} days"
                return f"Active on {_plural(signal, 'day')} of the last {c.engagement.window_days}"
            case "adoption":
                if signal == 0:
                    return f"No core feature used in the last {c.adoption.window_days} days"
                return (
                    f"Used {signal:g} of {len(c.adoption.event_types)} core features in the "
                    f"last {c.adoption.window_days} days"
                )
            case "milestones":
                return f"Reached {signal:g} of {self.who.milestones_defined} milestones"
            case "clients":
                return (
                    f"{_plural(signal, 'client or journey action')} in the last "
                    f"{c.clients.window_days} days"
                )
            case "billing":
                text = (
                    f"{_plural(signal, 'failed payment')} in the last {c.billing.window_days} days"
                )
                return text + ("; the account is past due" if self.who.past_due else "")
            case "support":
                return (
                    f"{_plural(signal, 'support ticket')} opened in the last "
                    f"{c.support.window_days} days"
                )
            case "referrals":
                if signal == 0:
                    return f"No referrals in the last {c.referrals.window_days} days"
                return (
                    f"{_plural(signal, 'referral point')} in the last "
                    f"{c.referrals.window_days} days (a referral that joins counts "
                    f"×{c.referrals.bonus_multiplier:g})"
                )
            case "network":
                if signal == 0:
                    return "No supplier brought into WedSync through referrals yet"
                return (
                    f"Brought {_plural(signal, 'supplier')} into WedSync, directly or through "
                    "those they referred"
                )
        raise ValueError(f"unknown component {name}")

    def _needed(self, name: str) -> int:
        return self.who.needed(name, self.who.config.healthy_scores()[name])

    def _more(self, name: str) -> int:
        return max(0, math.ceil(self._needed(name) - self.who.signals[name] - _EPSILON))

    def healthy(self, name: str) -> str:
        """What a healthy supplier looks like on this component."""
        c = self.who.config.components
        match name:
            case "engagement":
                n = self._needed(name)
                return f"Healthy: active on {n} of {c.engagement.window_days} days"
            case "adoption":
                n = self._needed(name)
                return f"Healthy: {_plural(n, 'core feature')} in {c.adoption.window_days} days"
            case "milestones":
                n = self._needed(name)
                return f"Healthy: {n} of {self.who.milestones_defined} milestones"
            case "clients":
                n = self._needed(name)
                return f"Healthy: {_plural(n, 'client action')} in {c.clients.window_days} days"
            case "billing":
                return f"Healthy: no failed payment in {c.billing.window_days} days, none overdue"
            case "support":
                return f"Healthy: no support ticket in {c.support.window_days} days"
            case "referrals":
                n = self._needed(name)
                return f"Healthy: {_plural(n, 'referral')} in {c.referrals.window_days} days"
            case "network":
                n = self._needed(name)
                return f"Healthy: {_plural(n, 'supplier')} brought into WedSync"
        raise ValueError(f"unknown component {name}")

    def action(self, name: str) -> str:
        """What would bring the component to its healthy score, as a thing to do."""
        c, signal = self.who.config.components, self.who.signals[name]
        match name:
            case "engagement":
                return (
                    f"Use WedSync on {self._needed(name)} days in {c.engagement.window_days} "
                    f"({self._more(name)} more)"
                )
            case "adoption":
                return (
                    f"Use {self._needed(name)} of the {len(c.adoption.event_types)} core "
                    f"features ({self._more(name)} more)"
                )
            case "milestones":
                return (
                    f"Reach {self._needed(name)} of {self.who.milestones_defined} milestones "
                    f"({self._more(name)} more)"
                )
            case "clients":
                return (
                    f"Add clients, send forms, start journeys: {self._needed(name)} in "
                    f"{c.clients.window_days} days ({self._more(name)} more)"
                )
            case "billing":
                if signal > 0 and self.who.past_due:
                    return "Settle the overdue balance and stop payments failing"
                if self.who.past_due:
                    return "Settle the overdue balance"
                return (
                    "Stop payments failing (update the card): a failure counts for "
                    f"{c.billing.window_days} days"
                )
            case "support":
                return (
                    f"Solve what is behind the {_plural(signal, 'support ticket')}: "
                    f"a ticket counts for {c.support.window_days} days"
                )
            case "referrals":
                more = self._more(name)
                return (
                    f"Refer {'a supplier' if more == 1 else f'{more} suppliers'} "
                    f"(a referral that joins counts ×{c.referrals.bonus_multiplier:g})"
                )
            case "network":
                more = self._more(name)
                return (
                    f"Bring {'a supplier' if more == 1 else f'{more} suppliers'} into WedSync: "
                    "a referral that signs up, or one that they refer"
                )
        raise ValueError(f"unknown component {name}")

    def next_step(self, name: str) -> tuple[str | None, float | None]:
        """One more unit of the signal and the points it adds, when there is such a step
        and it is not the whole action already (billing and support have none: what counts
        against them cannot be undone, only outgrown)."""
        if name not in (*_STEPS, "milestones") or self._more(name) <= 1:
            return None, None
        text = _STEPS.get(name, "Reach one more milestone")
        if name == "milestones" and self.next_milestone:
            text = f"Reach “{self.next_milestone}”"
        value = self.who.component_at(name, self.who.signals[name] + 1)
        _, points = self.who.gain(name, value)
        return text, points
