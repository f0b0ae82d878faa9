"""Plain-words reasons from the model's own SHAP values (``pred_contrib``).

Each feature's contribution (in log-odds) says how much it pushed this supplier's risk up or
down from the model's average; the biggest of each sign become the drivers, described from
the feature's value ("no logins in 21 days", "3 failed payments in the last 90 days"). There
is no separate heuristic: drop a feature from the model and it can no longer be a driver.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from wedsync_success.churn.features import FeatureSpec
from wedsync_success.churn.windows import ADOPTION

FloatArray = npt.NDArray[np.float64]

TOP_DRIVERS = 3
MIN_IMPACT = 0.005
"""Contributions smaller than this (log-odds) are noise, not reasons."""


def _n(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _count(value: float, singular: str, plural: str | None = None) -> str:
    if value == 0:
        return f"no {plural or singular + 's'}"
    word = singular if value == 1 else (plural or singular + "s")
    return f"{_n(value)} {word}"


def _window(name: str) -> str:
    days = name.rsplit("_", 1)[-1].removesuffix("d")
    return f"in the last {days} days"


def _trend(value: float, what: str, against: str) -> str:
    if math.isnan(value):
        return f"no {what} in the last {against}"
    change = (value - 1.0) * 100.0
    if abs(change) < 5:
        return f"{what} steady against the {against} average"
    direction = "up" if change > 0 else "down"
    return f"{what} {direction} {abs(change):.0f}% against the {against} average"


def describe(
    name: str,
    value: float,
    *,
    spec: FeatureSpec | None = None,
    categorical: dict[str, tuple[str, ...]] | None = None,
) -> str:
    """One feature's value in plain words."""
    vocab = (categorical or {}).get(name)
    if vocab is not None:
        label = vocab[int(value)] if not math.isnan(value) and 0 <= value < len(vocab) else None
        if name == "plan":
            return f"on the {label} plan" if label else "plan unknown"
        if name == "vendor_type":
            return f"a {label.replace('_', ' ')} business" if label else "vendor type unknown"
        return f"{name.replace('_', ' ')} is {label or 'unknown'}"
    if name.startswith("days_to_"):
        key = name.removeprefix("days_to_")
        title = spec.milestone_name(key) if spec else key.replace("_", " ")
        if math.isnan(value):
            return f"has not reached '{title}'"
        return f"reached '{title}' {_n(round(value))} days after signing up"
    if math.isnan(value):
        return f"{name.replace('_', ' ')} unknown"
    text = _known(name, value)
    return text if text is not None else f"{name.replace('_', ' ')} = {_n(value)}"


def _known(name: str, v: float) -> str | None:
    if name.startswith("logins_"):
        return f"{_count(v, 'login')} {_window(name)}"
    if name == "login_days_prev_30d":
        return f"logged in on {_n(v)} days in the 30 days before that"
    if name.startswith("login_days_change"):
        return f"{v:+.0f} login days against the month before"
    if name.startswith("login_days_"):
        return f"logged in on {_n(v)} of the last {_window(name).split()[-2]} days"
    if name.startswith("key_actions_trend"):
        return _trend(v, "key actions this month", "90-day")
    if name.startswith("key_actions_"):
        return f"{_count(v, 'key action')} {_window(name)}"
    if name.startswith("adoption_breadth_"):
        return f"used {_n(v)} of {len(ADOPTION)} core features {_window(name)}"
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
        return "logged in today" if v == 0 else f"no logins in {_n(v)} days"
    if name == "days_since_key_action":
        return "key actions today" if v == 0 else f"no key actions in {_n(v)} days"
    if name == "days_since_payment_failed":
        return (
            "no failed payments in 180 days" if v >= 180 else f"a payment failed {_n(v)} days ago"
        )
    if name == "login_trend_7_30":
        return _trend(v, "logins this week", "30-day")
    if name == "login_trend_30_90":
        return _trend(v, "logins this month", "90-day")
    if name == "tenure_days":
        return (
            f"a customer for {_n(round(v))} days"
            if v < 90
            else f"a customer for {round(v / 30.44)} months"
        )
    if name == "months_to_peak":
        return "in peak wedding season" if v == 0 else f"{_n(v)} months to peak wedding season"
    if name == "milestones_reached":
        return f"{_count(v, 'milestone')} reached"
    return None


def drivers(
    contributions: FloatArray,
    values: FloatArray,
    names: Sequence[str],
    *,
    spec: FeatureSpec | None = None,
    categorical: dict[str, tuple[str, ...]] | None = None,
    top: int = TOP_DRIVERS,
) -> dict[str, list[dict[str, Any]]]:
    """The factors pushing one row's risk up and down, biggest first.

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
    categorical: dict[str, tuple[str, ...]] | None = None,
    top: int = TOP_DRIVERS,
) -> list[dict[str, list[dict[str, Any]]]]:
    """:func:`drivers` of many rows at once (batch scoring explains tens of thousands).

    The ranking is one NumPy sort of the whole matrix; only the few drivers kept per row
    are described, and each distinct (feature, value) is put into words once.
    """
    impacts = contributions[:, : len(names)]
    order = np.argsort(-impacts, axis=1, kind="stable")
    rows = np.arange(impacts.shape[0])[:, None]
    texts: dict[tuple[int, float], str] = {}

    def text(i: int, value: float) -> str:
        found = texts.get((i, value))
        if found is None:
            found = texts[i, value] = describe(names[i], value, spec=spec, categorical=categorical)
        return found

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

    ups = side(order[:, :top], "up")
    downs = side(order[:, ::-1][:, :top], "down")
    return [{"up": u, "down": d} for u, d in zip(ups, downs, strict=True)]


def as_logged(found: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Mapping[str, Any]]:
    """Drivers as the prediction log stores them: one list, up then down (each says which)."""
    return [*found["up"], *found["down"]]
