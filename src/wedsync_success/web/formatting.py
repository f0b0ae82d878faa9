"""Formatting helpers for dashboard templates: money, percentages, labels, sparklines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from wedsync_success.suppliers.profile import SupplierProfile

CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "AUD": "A$"}
RISK_LABELS = {"healthy": "Healthy", "watch": "Watch", "at_risk": "At risk", "critical": "Critical"}
EVENT_LABELS = {
    "supplier.health_improved": "Health improved",
    "supplier.health_declined": "Health declined",
    "supplier.risk_level_changed": "Risk level changed",
    "supplier.milestone_achieved": "Milestone achieved",
    "supplier.success_champion": "Success champion",
}


def money(minor: int, currency: str) -> str:
    """``4900, "GBP"`` → ``£49``; pence shown only when there are any."""
    symbol = CURRENCY_SYMBOLS.get(currency, currency + " ")
    major = minor / 100
    return f"{symbol}{major:,.0f}" if minor % 100 == 0 else f"{symbol}{major:,.2f}"


def pct(rate: float | None, digits: int = 1) -> str:
    return "—" if rate is None else f"{rate * 100:.{digits}f}%"


def signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}"


def risk_label(level: str | None) -> str:
    return RISK_LABELS.get(level or "", level or "—")


def label(text: str) -> str:
    """``band_dj`` → ``Band dj``-style words for enum values."""
    return text.replace("_", " ").capitalize()


def event_label(event_type: str) -> str:
    return EVENT_LABELS.get(event_type, event_type)


def event_summary(event_type: str, payload: dict[str, Any]) -> str:
    """One line saying what a success event means."""
    if event_type == "supplier.milestone_achieved":
        return f"Reached “{payload.get('name', payload.get('milestone'))}”"
    if event_type == "supplier.risk_level_changed":
        return (
            f"{risk_label(payload.get('previous_risk_level'))} → "
            f"{risk_label(payload.get('risk_level'))} (score {payload.get('score')})"
        )
    if event_type in ("supplier.health_improved", "supplier.health_declined"):
        return f"Score {payload.get('previous_score')} → {payload.get('score')}"
    if event_type == "supplier.success_champion":
        return f"Score reached {payload.get('score')}"
    return ""


def day(value: date | datetime | None) -> str:
    return "—" if value is None else f"{value:%d %b %Y}"


def moment(value: datetime | None) -> str:
    return "—" if value is None else f"{value:%d %b %Y, %H:%M} UTC"


def sparkline(scores: list[float], *, width: int = 120, height: int = 28) -> str:
    """SVG polyline points for ``scores`` on a 0-100 scale."""
    if len(scores) < 2:
        return ""
    step = width / (len(scores) - 1)
    return " ".join(
        f"{i * step:.1f},{height - (s / 100) * height:.1f}" for i, s in enumerate(scores)
    )


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # "activity" or "success"
    title: str
    detail: str


def timeline(profile: SupplierProfile) -> list[TimelineItem]:
    """Activity and success events of a profile, merged newest first."""
    items = [
        TimelineItem(e.occurred_at, "activity", label(e.type), _activity_detail(e.properties))
        for e in profile.recent_events
    ] + [
        TimelineItem(
            e.occurred_at, "success", event_label(e.type), event_summary(e.type, e.payload)
        )
        for e in profile.success_events
    ]
    return sorted(items, key=lambda item: item.at, reverse=True)


def _activity_detail(properties: dict[str, Any]) -> str:
    if "amount" in properties and isinstance(properties["amount"], int):
        return money(properties["amount"], str(properties.get("currency", "GBP")))
    return ", ".join(f"{k}: {v}" for k, v in list(properties.items())[:3])
