"""Health recomputation: scores, history and the success events of their changes.

Explanations are in ``health.explanation``.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEventType
from wedsync_success.health import repository
from wedsync_success.health.components import Scores, compute
from wedsync_success.health.config import COMPONENT_NAMES, HealthConfig
from wedsync_success.health.repository import ScoringInput
from wedsync_success.kit.clock import start_of_day


@dataclass(frozen=True)
class RecomputeSummary:
    as_of: date
    scored: int
    risk_levels: dict[str, int] = field(default_factory=dict)
    events: int = 0


async def recompute(
    *,
    session: AsyncSession,
    config: HealthConfig,
    milestones_defined: int,
    as_of: date,
    supplier_ids: Sequence[uuid.UUID] | None,
    now: datetime,
) -> RecomputeSummary:
    """Score ``supplier_ids`` (every active supplier when ``None``) as of the end of ``as_of``.

    Writes the day's history row and, unless a later day is already current, the current
    score, and puts success events for meaningful changes into the outbox.
    """
    data = await repository.scoring_input(session, config, as_of=as_of, supplier_ids=supplier_ids)
    if not data.supplier_ids:
        return RecomputeSummary(as_of=as_of, scored=0)
    scores = compute(
        data.signals, config, milestones_defined=milestones_defined, onboarding=data.onboarding
    )
    change_7d = np.round(scores.score - data.score_7d_ago, 1)
    change_30d = np.round(scores.score - data.score_30d_ago, 1)
    risk_list = scores.risk_level.tolist()
    history = {
        "supplier_id": data.supplier_ids,
        "score": scores.score.tolist(),
        "risk_level": risk_list,
        **{name: scores.components[name].tolist() for name in COMPONENT_NAMES},
    }
    signals = data.signals.by_component()
    current = {
        **history,
        **{f"{name}_signal": signals[name].tolist() for name in COMPONENT_NAMES},
        "last_active_on": data.last_active_on,
        "change_7d": [_none_if_nan(c) for c in change_7d.tolist()],
        "change_30d": [_none_if_nan(c) for c in change_30d.tolist()],
    }
    await repository.write_history(session, as_of=as_of, columns=history)
    await repository.write_current(session, as_of=as_of, computed_at=now, columns=current)
    events = _change_events(data, scores, config, as_of=as_of)
    await enqueue(session=session, events=events, now=now)
    return RecomputeSummary(
        as_of=as_of,
        scored=len(data.supplier_ids),
        risk_levels=dict(Counter(risk_list)),
        events=len(events),
    )


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value


def _change_events(
    data: ScoringInput, scores: Scores, config: HealthConfig, *, as_of: date
) -> list[NewEvent]:
    """Events for suppliers whose score moved forward in time and changed meaningfully."""
    prev = data.previous_score
    moving_forward = np.array(
        [p is not None and p <= as_of for p in data.previous_as_of], dtype=bool
    )
    has_prev = moving_forward & ~np.isnan(prev)
    delta = np.where(has_prev, scores.score - np.nan_to_num(prev), 0.0)
    threshold = config.events.change_threshold
    champion = config.events.champion_score
    prev_risk = np.array([r or "" for r in data.previous_risk], dtype=object)
    masks = {
        SuccessEventType.RISK_LEVEL_CHANGED: has_prev & (prev_risk != scores.risk_level),
        SuccessEventType.HEALTH_IMPROVED: has_prev & (delta >= threshold),
        SuccessEventType.HEALTH_DECLINED: has_prev & (delta <= -threshold),
        SuccessEventType.SUCCESS_CHAMPION: has_prev
        & (scores.score >= champion)
        & (np.nan_to_num(prev) < champion),
    }
    occurred_at = start_of_day(as_of)
    events: list[NewEvent] = []
    for event_type, mask in masks.items():
        for i in np.flatnonzero(mask).tolist():
            events.append(
                NewEvent(
                    event_type=event_type,
                    supplier_id=data.supplier_ids[i],
                    occurred_at=occurred_at,
                    payload={
                        "as_of": as_of.isoformat(),
                        "score": float(scores.score[i]),
                        "previous_score": float(prev[i]),
                        "risk_level": str(scores.risk_level[i]),
                        "previous_risk_level": data.previous_risk[i],
                    },
                )
            )
    return events
