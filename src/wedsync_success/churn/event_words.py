"""Generic event features said in plain words: "12 tasks created in the last 28 days".

An event type's name is humanised without a dictionary: ``task_created`` is the noun
"task" and the verb "created", said in the plural as "tasks created"; a single word
(``login``) is a noun ("logins"). Good enough for the snake_case names products emit, and
never wrong about the number.
"""

from __future__ import annotations

import math

from wedsync_success.churn.generic import GenericFeature
from wedsync_success.churn.windows import LOOKBACK_DAYS

_IRREGULAR = {"reply": "replies", "entry": "entries", "person": "people", "child": "children"}


def _plural(noun: str) -> str:
    if noun in _IRREGULAR:
        return _IRREGULAR[noun]
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and len(noun) > 1 and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _words(event_type: str) -> list[str]:
    return [w for w in event_type.replace("-", "_").replace(".", "_").lower().split("_") if w]


def event_phrase(event_type: str, count: float) -> str:
    """``task_created`` -> "task created" (one) or "tasks created" (any other count)."""
    words = _words(event_type) or ["event"]
    verb_last = len(words) > 1 and words[-1].endswith("ed")
    nouns = words[:-1] if verb_last else words
    if count != 1:
        nouns = [*nouns[:-1], _plural(nouns[-1])]
    return " ".join([*nouns, words[-1]] if verb_last else nouns)


def _n(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def describe_generic(feature: GenericFeature, value: float) -> str:
    """One generic feature's value as a plain fact (see ``churn.generic`` for the columns)."""
    t = feature.event_type
    if math.isnan(value) and feature.kind not in ("days_since", "trend_28d", "per"):
        return f"{event_phrase(t, 2).capitalize()} ({feature.kind}) unknown"
    if feature.kind == "days_since":
        if math.isnan(value):
            return f"No {event_phrase(t, 0)} in the last {LOOKBACK_DAYS} days"
        if value == 0:
            return f"{event_phrase(t, 2).capitalize()} today"
        if value == 1:
            return f"Last {event_phrase(t, 1)} yesterday"
        return f"No {event_phrase(t, 1)} in {_n(value)} days"
    if feature.kind == "trend_28d":
        if math.isnan(value):
            return f"No {event_phrase(t, 0)} in the 28 days before the last 28"
        change = value * 100.0
        if abs(change) < 5:
            return f"{event_phrase(t, 2).capitalize()} steady over the last 28 days"
        direction = "up" if change > 0 else "down"
        return (
            f"{event_phrase(t, 2).capitalize()} {direction} {abs(change):.0f} % in the last "
            "28 days against the 28 before"
        )
    if feature.kind == "days_28d":
        if value == 0:
            return f"No day with {event_phrase(t, 0)} in the last 28 days"
        return f"{event_phrase(t, 2).capitalize()} on {_n(value)} of the last 28 days"
    if feature.kind == "per":
        other = feature.other or ""
        if math.isnan(value):
            return f"No {event_phrase(other, 0)} in the last 28 days to compare with"
        return (
            f"{_n(round(value, 2))} {event_phrase(t, value)} per {event_phrase(other, 1)} "
            "in the last 28 days"
        )
    days = feature.kind.removesuffix("d")
    if value == 0:
        return f"No {event_phrase(t, 0)} in the last {days} days"
    return f"{_n(value)} {event_phrase(t, value)} in the last {days} days"
