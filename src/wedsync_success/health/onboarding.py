"""Onboarding progress: how far a new supplier is through its onboarding period.

A supplier scored within ``onboarding.days`` of its signup day has the risk level
``onboarding`` (``health.components.compute``); the profile shows this progress instead of
a band: the day of the period and which of the onboarding milestones it has reached.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.health.config import HealthConfig
from wedsync_success.health.schemas import OnboardingMilestone, OnboardingProgress
from wedsync_success.milestones import repository as milestones_repository
from wedsync_success.milestones.schemas import MilestoneProgress


def onboarding_progress(
    *,
    config: HealthConfig,
    signed_up_at: datetime,
    as_of: date,
    milestones: Sequence[MilestoneProgress],
) -> OnboardingProgress:
    """The onboarding period's day as of ``as_of`` and the onboarding milestones reached."""
    signup_day = signed_up_at.date()
    by_key = {m.key: m for m in milestones}
    listed = [
        OnboardingMilestone(key=key, name=by_key[key].name, achieved=by_key[key].achieved)
        for key in config.onboarding.milestones
        if key in by_key
    ]
    return OnboardingProgress(
        day=(as_of - signup_day).days,
        days=config.onboarding.days,
        ends_on=signup_day + timedelta(days=config.onboarding.days),
        reached=sum(m.achieved for m in listed),
        total=len(listed),
        milestones=listed,
    )


@dataclass(frozen=True)
class OnboardingBrief:
    """An onboarding supplier's progress in a list row: the day of the period (from 0) and
    how many of the onboarding milestones it has reached."""

    day: int
    days: int
    reached: int
    total: int


async def onboarding_briefs(
    *,
    session: AsyncSession,
    config: HealthConfig,
    suppliers: Sequence[tuple[uuid.UUID, datetime, date]],
) -> dict[uuid.UUID, OnboardingBrief]:
    """:class:`OnboardingBrief` of each (id, signed up at, score as of) in one query."""
    if not suppliers:
        return {}
    achieved = await milestones_repository.achieved_keys(session, [s[0] for s in suppliers])
    wanted = set(config.onboarding.milestones)
    return {
        sid: OnboardingBrief(
            day=(as_of - signed_up_at.date()).days,
            days=config.onboarding.days,
            reached=len(achieved.get(sid, set()) & wanted),
            total=len(wanted),
        )
        for sid, signed_up_at, as_of in suppliers
    }


def next_milestone(milestones: Sequence[MilestoneProgress]) -> str | None:
    """The name of the pending milestone the supplier is furthest along (first on ties)."""
    pending = [m for m in milestones if not m.achieved]
    return max(pending, key=lambda m: m.progress).name if pending else None
