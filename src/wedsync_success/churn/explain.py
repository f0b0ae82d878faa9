"""Plain-words reasons from the model's own SHAP values (``pred_contrib``).

Each feature's contribution (in log-odds) says how much it pushed this supplier's risk up or
down from the model's average. A driver is a feature's value said as a plain fact ("No login
for 21 days", "Not yet: First client added"), so it reads right whichever way it pushes: the
direction is the sign shown beside it, never a heading the fact has to agree with.

Features that belong together form groups (onboarding milestones, logins, billing, ...):
SHAP values add up, so a group's impact is the exact sum of its features' contributions,
all of them, not only the few listed. There is no separate heuristic: drop a feature from
the model and it can no longer be a driver.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from wedsync_success.churn import generic
from wedsync_success.churn.event_words import describe_generic
from wedsync_success.churn.features import CATEGORICAL, FeatureSpec
from wedsync_success.churn.windows import ADOPTION

FloatArray = npt.NDArray[np.float64]

TOP_DRIVERS = 3
TOP_GROUPS = 4
"""Groups kept per prediction, biggest impact first."""
GROUP_DRIVERS = 3
"""Features listed per group, biggest impact first (the group's impact counts them all)."""
MIN_IMPACT = 0.005
"""Contributions smaller than this (log-odds) are noise, not reasons."""

GROUPS: dict[str, str] = {
    "onboarding": "Onboarding milestones",
    "logins": "Logins",
    "product_use": "Using WedSync",
    "clients": "Clients and enquiries",
    "billing": "Billing and plan",
    "support": "Support",
    "referrals": "Referrals",
    "account": "Account and season",
    "activity": "Product activity",
    "other": "Other factors",
}
"""Group key -> its heading, in the order groups of equal impact are listed."""
_PREFIXES: tuple[tuple[str, str], ...] = (
    (generic.PREFIX, "activity"),
    ("days_to_", "onboarding"),
    ("milestones_reached", "onboarding"),
    ("logins_", "logins"),
    ("login_", "logins"),
    ("days_since_login", "logins"),
    ("key_actions_", "product_use"),
    ("days_since_key_action", "product_use"),
    ("adoption_breadth_", "product_use"),
    ("clients_", "clients"),
    ("journeys_", "clients"),
    ("enquiries_", "clients"),
    ("invoices_", "clients"),
    ("payments_failed_", "billing"),
    ("days_since_payment_failed", "billing"),
    ("plan", "billing"),
    ("tickets_", "support"),
    ("referrals_", "referrals"),
    ("tenure_days", "account"),
    ("vendor_type", "account"),
    ("months_to_peak", "account"),
)


def group_of(name: str) -> str:
    """The group a feature belongs to (``other`` for names the product does not know)."""
    return next((g for prefix, g in _PREFIXES if name.startswith(prefix)), "other")


def _n(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _count(value: float, singular: str, plural: str | None = None) -> str:
    if value == 0:
        return f"No {plural or singular + 's'}"
    word = singular if value == 1 else (plural or singular + "s")
    return f"{_n(value)} {word}"


def _days(name: str) -> str:
    return name.rsplit("_", 1)[-1].removesuffix("d")


def _window(name: str) -> str:
    return f"in the last {_days(name)} days"


def _trend(value: float, what: str, recent: str, days: int) -> str:
    if math.isnan(value):
        return f"No {what} in the last {days} days"
    change = (value - 1.0) * 100.0
    if abs(change) < 5:
        return f"{what.capitalize()} {recent} steady against the {days}-day average"
    direction = "up" if change > 0 else "down"
    return f"{what.capitalize()} {recent} {direction} {abs(change):.0f}% on the {days}-day average"


def describe(
    name: str,
    value: float,
    *,
    spec: FeatureSpec | None = None,
    categorical: Mapping[str, tuple[str, ...]] | None = None,
) -> str:
    """One feature's value as a plain fact, true whichever way it pushes the risk."""
    vocab = (categorical or {}).get(name)
    if vocab is not None:
        label = vocab[int(value)] if not math.isnan(value) and 0 <= value < len(vocab) else None
        if name == "plan":
            return f"On the {label} plan" if label else "Plan unknown"
        if name == "vendor_type":
            return f"A {label.replace('_', ' ')} business" if label else "Vendor type unknown"
        return f"{name.replace('_', ' ').capitalize()} is {label or 'unknown'}"
    if name.startswith("days_to_"):
        key = name.removeprefix("days_to_")
        title = spec.milestone_name(key) if spec else key.replace("_", " ")
        if math.isnan(value):
            return f"Not yet: {title}"
        days = round(value)
        when = "on the day of signup" if days == 0 else f"{_n(days)} days after signup"
        return f"Reached: {title}, {when}"
    about = spec.events.features.get(name) if spec is not None else None
    if about is not None:
        return describe_generic(about, value)
    if math.isnan(value) and "_trend" not in name:  # a trend is NaN for no activity at all
        return f"{name.replace('_', ' ').capitalize()} unknown"
    text = _known(name, value)
    return text if text is not None else f"{name.replace('_', ' ').capitalize()} = {_n(value)}"


def _since(v: float, what: str, today: str) -> str:
    if v == 0:
        return today
    if v == 1:
        return f"Last {what} yesterday"
    return f"No {what} for {_n(v)} days"


def _known(name: str, v: float) -> str | None:
    if name.startswith("logins_"):
        return f"{_count(v, 'login')} {_window(name)}"
    if name == "login_days_prev_30d":
        return f"Logged in on {_n(v)} days in the 30 days before the last 30"
    if name.startswith("login_days_change"):
        if v == 0:
            return "As many login days as the month before"
        more = "more" if v > 0 else "fewer"
        return f"{_n(abs(v))} {more} login days than the month before"
    if name.startswith("login_days_"):
        if v == 0:
            return f"Not logged in on any of the last {_days(name)} days"
        return f"Logged in on {_n(v)} of the last {_days(name)} days"
    if name.startswith("key_actions_trend"):
        return _trend(v, "key actions", "this month", 90)
    if name.startswith("key_actions_"):
        return f"{_count(v, 'key action')} {_window(name)}"
    if name.startswith("adoption_breadth_"):
        return f"Used {_n(v)} of {len(ADOPTION)} core features {_window(name)}"
    if name.startswith("clients_"):
        return f"{_count(v, 'new client')} {_window(name)}"
    if name.startswith("journeys_"):
        return f"{_count(v, 'client journey step')} {_window(name)}"
    if name.startswith("enquiries_"):
        return f"{_count(v, 'enquiry', 'enquiries')} {_window(name)}"
    if name.startswith("invoices_"):
        return f"{_count(v, 'invoice')} sent {_window(name)}"
    if name.startswith("payments_failed_"):
        return f"{_count(v, 'failed payment')} {_window(name)}"
    if name.startswith("tickets_"):
        return f"{_count(v, 'support ticket')} {_window(name)}"
    if name.startswith("referrals_"):
        return f"{_count(v, 'referral')} {_window(name)}"
    if name == "days_since_login":
        return _since(v, "login", "Logged in today")
    if name == "days_since_key_action":
        return _since(v, "key action", "Key actions today")
    if name == "days_since_payment_failed":
        if v >= 180:
            return "No failed payment in 180 days"
        return "A payment failed today" if v == 0 else f"Last failed payment {_n(v)} days ago"
    if name == "login_trend_7_30":
        return _trend(v, "logins", "this week", 30)
    if name == "login_trend_30_90":
        return _trend(v, "logins", "this month", 90)
    if name == "tenure_days":
        if v < 90:
            return f"A customer for {_n(round(v))} days"
        return f"A customer for {round(v / 30.44)} months"
    if name == "months_to_peak":
        return "In peak wedding season" if v == 0 else f"{_n(v)} months to peak wedding season"
    if name == "milestones_reached":
        return f"{_count(v, 'milestone')} reached"
    return None


def drivers(
    contributions: FloatArray,
    values: FloatArray,
    names: Sequence[str],
    *,
    spec: FeatureSpec | None = None,
    categorical: Mapping[str, tuple[str, ...]] | None = None,
    top: int = TOP_DRIVERS,
) -> dict[str, list[dict[str, Any]]]:
    """The factors pushing one row's risk up and down, biggest first, and its groups.

    ``contributions`` is one row of ``pred_contrib`` output (features then the bias term),
    ``values`` the same row's feature values.
    """
    return drivers_of_rows(
        contributions[None, :], values[None, :], names, spec=spec, categorical=categorical, top=top
    )[0]


def drivers_of_rows(
    contributions: FloatArray,
    values: FloatArray,
    names: Sequence[str],
    *,
    spec: FeatureSpec | None = None,
    categorical: Mapping[str, tuple[str, ...]] | None = None,
    top: int = TOP_DRIVERS,
    sides: bool = True,
) -> list[dict[str, list[dict[str, Any]]]]:
    """:func:`drivers` of many rows at once (batch scoring explains tens of thousands).

    Rankings are NumPy sorts of the whole matrix and group impacts one matrix product; only
    the few drivers kept per row are described, each distinct (feature, value) once.
    ``sides=False`` leaves out the up and down lists (the log stores the groups only).
    """
    impacts = contributions[:, : len(names)]
    texts: dict[tuple[int, float], str] = {}

    def text(i: int, value: float) -> str:
        found = texts.get((i, value))
        if found is None:
            found = texts[i, value] = describe(names[i], value, spec=spec, categorical=categorical)
        return found

    groups = _grouped_rows(impacts, values, names, text)
    if not sides:
        return [{"groups": g} for g in groups]
    rows = np.arange(impacts.shape[0])[:, None]

    def side(idx: npt.NDArray[np.intp], direction: str) -> list[list[dict[str, Any]]]:
        """The kept drivers of every row in one direction (columns pulled out at once)."""
        impact = impacts[rows, idx]
        kept = impact > MIN_IMPACT if direction == "up" else impact < -MIN_IMPACT
        columns = zip(
            idx.tolist(),
            kept.tolist(),
            values[rows, idx].tolist(),
            np.round(impact, 4).tolist(),
            strict=True,
        )
        return [
            [
                {
                    "feature": names[i],
                    "value": None if math.isnan(v) else v,
                    "impact": m,
                    "text": text(i, v),
                    "direction": direction,
                }
                for i, k, v, m in zip(*row, strict=True)
                if k
            ]
            for row in columns
        ]

    order = np.argsort(-impacts, axis=1, kind="stable")
    ups = side(order[:, :top], "up")
    downs = side(order[:, ::-1][:, :top], "down")
    return [{"up": u, "down": d, "groups": g} for u, d, g in zip(ups, downs, groups, strict=True)]


def _grouped_rows(
    impacts: FloatArray,
    values: FloatArray,
    names: Sequence[str],
    text: Callable[[int, float], str],
) -> list[list[dict[str, Any]]]:
    """Each row's biggest groups, each with its exact impact and its biggest features.

    Every driver also names its group and the group's impact: that is the form the
    prediction log stores (:func:`as_logged` only flattens the groups).
    """
    keys = list(GROUPS)
    member = np.array([keys.index(group_of(n)) for n in names], dtype=np.intp)
    one_hot = np.zeros((len(names), len(keys)))
    one_hot[np.arange(len(names)), member] = 1.0
    totals = impacts @ one_hot  # (rows, groups): SHAP values add up
    # Rank groups by size (ties: the GROUPS order), then features within each group.
    group_order = np.argsort(-np.abs(totals), axis=1, kind="stable")
    group_rank = np.argsort(group_order, axis=1, kind="stable")
    feature_rank = np.argsort(np.argsort(-np.abs(impacts), axis=1, kind="stable"), axis=1)
    rank_of_feature = np.take_along_axis(group_rank, np.broadcast_to(member, impacts.shape), 1)
    order = np.argsort(rank_of_feature * len(names) + feature_rank, axis=1, kind="stable")
    sorted_rank = np.take_along_axis(rank_of_feature, order, 1)
    position = np.arange(len(names))
    run_start = np.maximum.accumulate(
        np.where(np.diff(sorted_rank, axis=1, prepend=-1) != 0, position, 0), axis=1
    )
    sorted_impact = np.take_along_axis(impacts, order, 1)
    kept = (
        (sorted_rank < TOP_GROUPS)
        & (position - run_start < GROUP_DRIVERS)
        & (np.abs(sorted_impact) > MIN_IMPACT)
    )
    out: list[list[dict[str, Any]]] = [[] for _ in range(impacts.shape[0])]
    row_ids, slots = np.nonzero(kept)
    features = order[row_ids, slots]
    group_ids = member[features]
    # The first kept slot of a group is its biggest feature (features sort by size within
    # a group, and the size threshold cuts a group's tail only).
    opens = (position - run_start)[row_ids, slots] == 0
    drivers: list[dict[str, Any]] = []
    for r, f, g, first, v, m, total in zip(
        row_ids.tolist(),
        features.tolist(),
        group_ids.tolist(),
        opens.tolist(),
        values[row_ids, features].tolist(),
        np.round(impacts[row_ids, features], 4).tolist(),
        np.round(totals[row_ids, group_ids], 4).tolist(),
        strict=True,
    ):
        key = keys[g]
        if first:
            drivers = []
            direction = "up" if total > 0 else "down"
            out[r].append(
                {
                    "group": key,
                    "label": GROUPS[key],
                    "impact": total,
                    "direction": direction,
                    "drivers": drivers,
                }
            )
        drivers.append(
            {
                "feature": names[f],
                "value": None if math.isnan(v) else v,
                "impact": m,
                "text": text(f, v),
                "direction": "up" if m > 0 else "down",
                "group": key,
                "group_impact": total,
            }
        )
    return out


def as_logged(found: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Mapping[str, Any]]:
    """Drivers as the prediction log stores them: the grouped features in one list, each
    naming its group and the group's impact (rows logged before groups have neither)."""
    return [
        d if "group_impact" in d else {**d, "group": g["group"], "group_impact": g["impact"]}
        for g in found["groups"]
        for d in g["drivers"]
    ]


@dataclass(frozen=True)
class DriverLine:
    text: str
    impact: float
    direction: str


@dataclass(frozen=True)
class DriverGroupView:
    """One group as a page shows it: its heading, combined impact and its features."""

    key: str
    label: str
    impact: float
    direction: str
    drivers: list[DriverLine] = field(default_factory=list)


def grouped(
    logged: Iterable[Mapping[str, Any]], *, milestone_names: Mapping[str, str] | None = None
) -> list[DriverGroupView]:
    """Logged drivers (the prediction log's JSON, old rows too) as groups, biggest first.

    Rows logged before groups existed carry neither group nor group impact: their features
    are grouped by name, the group's impact is the sum of those listed, and their text is
    put into words again from the feature and value (the old wording read backwards).
    """
    names = milestone_names or {}
    spec = FeatureSpec(tuple(names), tuple(names.values()))
    impacts: dict[str, float] = {}
    lines: dict[str, list[DriverLine]] = {}
    for d in logged:
        feature = str(d.get("feature", ""))
        key = str(d.get("group") or group_of(feature))
        impact = float(d.get("impact") or 0.0)
        if "group_impact" in d:
            text = str(d.get("text", ""))
            impacts[key] = float(d["group_impact"])
        else:
            value = d.get("value")
            number = math.nan if value is None else float(value)
            text = describe(feature, number, spec=spec, categorical=CATEGORICAL)
            impacts[key] = impacts.get(key, 0.0) + impact
        direction = "up" if impact > 0 else "down"
        lines.setdefault(key, []).append(DriverLine(text=text, impact=impact, direction=direction))
    views = [
        DriverGroupView(
            key=key,
            label=GROUPS.get(key, key.replace("_", " ").capitalize()),
            impact=round(total, 4),
            direction="up" if total > 0 else "down",
            drivers=sorted(lines[key], key=lambda line: -abs(line.impact)),
        )
        for key, total in impacts.items()
    ]
    return sorted(views, key=lambda g: -abs(g.impact))
