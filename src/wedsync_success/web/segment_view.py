"""What the Segments pages show that the API answers as data: a rule in words, and the
membership history as a chart (``web/charts.py``, drawn on the server)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wedsync_success.segments.history import DayCount
from wedsync_success.web import charts

_OPS = {
    "eq": "=",
    "ne": "≠",
    "lt": "<",
    "lte": "≤",
    "gt": ">",
    "gte": "≥",
    "in": "in",
    "not_in": "not in",
}


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _condition(rule: Mapping[str, Any]) -> str:
    field, op, value = rule.get("field", ""), rule.get("op", ""), rule.get("value")
    if op == "achieved":
        return f"milestone {value} achieved"
    if op == "not_achieved":
        return f"milestone {value} not achieved"
    text = f"{field} {_OPS.get(op, op)} {_value(value)}"
    if rule.get("days") is not None:
        text += f" in the last {rule['days']} days"
    return text


def rule_summary(rule: Mapping[str, Any], *, nested: bool = False) -> str:
    """A stored rule (``SegmentOut.rules``) as one line: ``all`` joined by "and", ``any`` by
    "or", inner groups in brackets."""
    for group, word in (("all", " and "), ("any", " or ")):
        items = rule.get(group)
        if items is not None:
            text = word.join(rule_summary(item, nested=True) for item in items)
            return f"({text})" if nested and len(items) > 1 else text
    return _condition(rule)


def membership_chart(points: Sequence[DayCount]) -> charts.LineChart:
    """Members at the end of each day, as a step line (membership holds between changes)."""
    return charts.line_chart(
        title="Members at the end of each day (UTC), last 30 days",
        labels=[p.day.strftime("%d %b") for p in points],
        series=[charts.Series("Members", [float(p.members) for p in points], step=True)],
        fmt=lambda v: f"{v:,.0f}",
        y_min=0,
        y_max=max([5, *(p.members for p in points)]),  # whole-number ticks for small segments
        width=640,
        height=200,
    )
