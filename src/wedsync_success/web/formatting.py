"""Formatting helpers for dashboard templates: money, percentages, labels, sparklines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from wedsync_success.churn.explain import DriverGroupView, grouped
from wedsync_success.health.schemas import PeerStanding
from wedsync_success.milestones.schemas import MilestoneProgress
from wedsync_success.suppliers.profile import SupplierProfile
from wedsync_success.workspace.schemas import NoteOut

CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "AUD": "A$"}
RISK_LABELS = {
    "healthy": "Healthy",
    "watch": "Watch",
    "at_risk": "At risk",
    "critical": "Critical",
    "onboarding": "Onboarding",
}
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
    sign, minor = ("−", -minor) if minor < 0 else ("", minor)
    major = minor / 100
    return sign + (f"{symbol}{major:,.0f}" if minor % 100 == 0 else f"{symbol}{major:,.2f}")


def count(n: int) -> str:
    """``12345`` → ``12,345``."""
    return f"{n:,}"


def pct(rate: float | None, digits: int = 1) -> str:
    return "—" if rate is None else f"{rate * 100:,.{digits}f}%"


def signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}"


def risk_label(level: str | None) -> str:
    return RISK_LABELS.get(level or "", level or "—")


LABELS = {"band_dj": "Band / DJ", "hair_makeup": "Hair & makeup"}
"""Enum values whose words alone do not read right."""


def label(text: str) -> str:
    """An enum value as words: ``at_risk`` → ``At risk``, ``band_dj`` → ``Band / DJ``."""
    return LABELS.get(text) or text.replace("_", " ").capitalize()


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


SPARKLINE_MIN_SPAN = 10.0
"""The fewest score points a sparkline's height stands for: a change of a few points shows,
but a wobble of a fraction of a point does not fill the line's height."""


def sparkline(scores: list[float], *, width: int = 120, height: int = 28) -> str:
    """SVG polyline points for ``scores``, scaled to their own range (at least
    :data:`SPARKLINE_MIN_SPAN` points, kept within 0-100) so a change is visible."""
    if len(scores) < 2:
        return ""
    low, high = min(scores), max(scores)
    span = max(high - low, SPARKLINE_MIN_SPAN)
    floor = min(max((low + high - span) / 2, 0.0), 100.0 - span)
    step, pad = width / (len(scores) - 1), 2.0
    usable = height - 2 * pad
    return " ".join(
        f"{i * step:.1f},{pad + usable - (s - floor) / span * usable:.1f}"
        for i, s in enumerate(scores)
    )


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # "activity", "success" or "note"
    title: str
    detail: str


def timeline(profile: SupplierProfile, notes: Sequence[NoteOut] = ()) -> list[TimelineItem]:
    """Activity and success events of a profile and the team's notes, merged newest first."""
    items = [
        TimelineItem(e.occurred_at, "activity", label(e.type), _activity_detail(e.properties))
        for e in profile.recent_events
    ] + [
        TimelineItem(
            e.occurred_at, "success", event_label(e.type), event_summary(e.type, e.payload)
        )
        for e in profile.success_events
    ]
    items += [
        TimelineItem(n.created_at, "note", f"Note by {n.author_name or 'a former member'}", n.body)
        for n in notes
    ]
    return sorted(items, key=lambda item: item.at, reverse=True)


def _activity_detail(properties: dict[str, Any]) -> str:
    if "amount" in properties and isinstance(properties["amount"], int):
        return money(properties["amount"], str(properties.get("currency", "GBP")))
    return ", ".join(f"{k}: {v}" for k, v in list(properties.items())[:3])


STATUS_LABELS = {
    "queued": "Queued",
    "sending": "Sending",
    "retrying": "Retrying",
    "sent": "Sent",
    "failed": "Failed",
    "capped": "Capped: frequency limit",
    "held": "Held",
    "skipped": "Skipped",
    "unsubscribed": "Unsubscribed",
    "suppressed": "Control group: not sent",
    "undeliverable": "Undeliverable",
}
STATUS_TONES = {
    "sent": "good",
    "queued": "wait",
    "sending": "wait",
    "retrying": "wait",
    "held": "wait",
    "capped": "quiet",
    "skipped": "quiet",
    "suppressed": "control",
    "unsubscribed": "bad",
    "undeliverable": "bad",
    "failed": "bad",
}
CHANNEL_LABELS = {
    "email": "Email",
    "in_app": "In-app",
    "sms": "SMS",
    "task": "Task",
    "webhook": "Webhook",
}


def status_label(status: str) -> str:
    """A delivery decision in plain words (``suppressed`` → the control group)."""
    return STATUS_LABELS.get(status, label(status))


def status_tone(status: str) -> str:
    """The badge colour family of a delivery decision."""
    return STATUS_TONES.get(status, "quiet")


def task_reason(reason: str) -> str:
    """A task's reason in words; every hand-written task (``manual_<id>``) is "Manual"."""
    return "Manual" if reason.startswith("manual_") else label(reason)


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, label(channel))


def runs(count: int) -> str:
    """``1`` → ``1 run``, ``1200`` → ``1,200 runs``."""
    return f"{count:,} run" + ("" if count == 1 else "s")


def share(part: int, whole: int) -> int:
    """``part`` as a whole percentage of ``whole`` (0 to 100), for bar widths."""
    return 0 if whole <= 0 else max(0, min(100, round(100 * part / whole)))


def points(value: float | None) -> str:
    """A difference of two rates in percentage points: ``0.042`` → ``+4.2 pts``."""
    return "—" if value is None else f"{value * 100:+.1f} pts"


MIN_ARM_FOR_INTERVAL = 10
"""Below this many observed runs in an arm the page says the interval is too wide to read."""


@dataclass(frozen=True)
class IntervalMark:
    """One horizon's uplift drawn as a point with error bars (SVG coordinates)."""

    label: str
    y: float
    x: float | None
    low: float | None
    high: float | None
    text: str
    small: bool


@dataclass(frozen=True)
class IntervalChart:
    width: int
    height: int
    zero: float
    bound: float
    marks: list[IntervalMark]


def interval_chart(horizons: list[Any], *, width: int = 360, row: int = 34) -> IntervalChart:
    """Uplift and its interval per horizon on one symmetric axis around zero."""
    ends = [
        abs(v)
        for h in horizons
        for v in (h.uplift.low, h.uplift.high, h.uplift.difference)
        if v is not None
    ]
    bound = max([0.05, *ends])
    bound = -(-round(bound * 1000) // 50) * 50 / 1000  # up to the next 5 points
    pad_left, pad_right = 70, 16
    span = width - pad_left - pad_right

    def x_of(value: float | None) -> float | None:
        return None if value is None else pad_left + (value + bound) / (2 * bound) * span

    marks = []
    for i, h in enumerate(horizons):
        u = h.uplift
        small = min(h.treated_observed, h.control_observed) < MIN_ARM_FOR_INTERVAL
        if u.difference is None:
            text = f"No interval: {u.reason}" if u.reason else "No interval yet"
        else:
            text = f"{points(u.difference)} ({points(u.low)} to {points(u.high)})"
        marks.append(
            IntervalMark(
                label=f"{h.days} days",
                y=20 + i * row,
                x=x_of(u.difference),
                low=x_of(u.low),
                high=x_of(u.high),
                text=text,
                small=small,
            )
        )
    return IntervalChart(
        width=width,
        height=20 + len(horizons) * row + 8,
        zero=pad_left + span / 2,
        bound=bound,
        marks=marks,
    )


def ordinal(n: int) -> str:
    """``1`` → ``1st``, ``72`` → ``72nd``, ``13`` → ``13th``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def driver_groups(
    logged: list[dict[str, Any]] | None, milestones: list[MilestoneProgress]
) -> list[DriverGroupView]:
    """A logged prediction's drivers as groups, milestone keys named from the catalogue."""
    return grouped(logged or [], milestone_names={m.key: m.name for m in milestones})


@dataclass(frozen=True)
class PeerBar:
    x: float
    y: float
    width: float
    height: float
    label: str
    mine: bool


@dataclass(frozen=True)
class PeerChart:
    """A peer histogram in SVG coordinates: one bar per band, the supplier's score marked."""

    width: int
    height: int
    baseline: float
    bars: list[PeerBar]
    ticks: list[tuple[float, str]]
    marker_x: float | None


def peer_chart(standing: PeerStanding, *, width: int = 360, height: int = 110) -> PeerChart:
    """Bars scaled to the fullest band; the supplier's band is ``mine``."""
    baseline = height - 16.0
    top = 18.0
    tallest = max([b.count for b in standing.buckets] + [1])
    slot = width / len(standing.buckets)
    score = standing.score
    bars = [
        PeerBar(
            x=round(i * slot + 1, 1),
            y=round(baseline - (baseline - top) * b.count / tallest, 1),
            width=round(slot - 2, 1),
            height=round((baseline - top) * b.count / tallest, 1),
            label=f"{b.low}–{b.high}: {b.count:,} supplier{'' if b.count == 1 else 's'}",
            mine=score is not None and (b.low <= score < b.high or (b.high == 100 == score)),
        )
        for i, b in enumerate(standing.buckets)
    ]
    ticks = [(round(i * width / 4, 1), str(i * 25)) for i in range(5)]
    marker = None if score is None else round(min(max(score, 0.0), 100.0) / 100 * width, 1)
    return PeerChart(
        width=width, height=height, baseline=baseline, bars=bars, ticks=ticks, marker_x=marker
    )
