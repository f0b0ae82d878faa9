"""Milestone detection: record each achievement once and announce it as a success event."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity.repository import lifetime_counts
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEventType
from wedsync_success.milestones import repository
from wedsync_success.milestones.definitions import Condition, MilestoneCatalog
from wedsync_success.milestones.schemas import ConditionOut, MilestoneProgress, MilestoneStats

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class Achieved:
    supplier_id: uuid.UUID
    milestone_key: str
    achieved_at: datetime
    days_to_achieve: float


async def detect(
    *,
    session: AsyncSession,
    catalog: MilestoneCatalog,
    supplier_ids: Sequence[uuid.UUID] | None,
    now: datetime,
) -> list[Achieved]:
    """Record milestones newly reached by ``supplier_ids`` (all suppliers when ``None``).

    One set-based query per milestone definition; each achievement is recorded once, and a
    ``supplier.milestone_achieved`` event goes into the outbox in the same transaction.
    """
    new: list[Achieved] = []
    for milestone in catalog.milestones:
        met = await repository.newly_met(session, milestone, supplier_ids)
        if not met:
            continue
        candidates = [
            Achieved(
                supplier_id=sid,
                milestone_key=milestone.key,
                achieved_at=at,
                days_to_achieve=max((at - signed).total_seconds(), 0.0) / SECONDS_PER_DAY,
            )
            for sid, at, signed in met
        ]
        recorded = set(
            await repository.record(
                session, [{**asdict(a), "detected_at": now} for a in candidates]
            )
        )
        new.extend(a for a in candidates if (a.supplier_id, a.milestone_key) in recorded)
    names = {m.key: m.name for m in catalog.milestones}
    await enqueue(
        session=session,
        events=[
            NewEvent(
                event_type=SuccessEventType.MILESTONE_ACHIEVED,
                supplier_id=a.supplier_id,
                occurred_at=a.achieved_at,
                payload={
                    "milestone": a.milestone_key,
                    "name": names[a.milestone_key],
                    "achieved_at": a.achieved_at.isoformat(),
                    "days_to_achieve": round(a.days_to_achieve, 2),
                },
            )
            for a in new
        ],
        now=now,
    )
    return new


async def catalog_stats(
    *, session: AsyncSession, catalog: MilestoneCatalog, supplier_count: int
) -> list[MilestoneStats]:
    """Every definition with how many suppliers reached it and how long it took on average."""
    stats = await repository.achievement_stats(session)
    out = []
    for m in catalog.milestones:
        achieved, avg_days = stats.get(m.key, (0, None))
        out.append(
            MilestoneStats(
                key=m.key,
                name=m.name,
                description=m.description,
                conditions=[ConditionOut(**c.model_dump()) for c in m.conditions],
                achieved=achieved,
                achievement_rate=round(achieved / supplier_count, 4) if supplier_count else 0.0,
                avg_days_to_achieve=round(avg_days, 1) if avg_days is not None else None,
            )
        )
    return out


async def progress_of(
    *, session: AsyncSession, catalog: MilestoneCatalog, supplier_id: uuid.UUID
) -> list[MilestoneProgress]:
    """Each milestone for one supplier: achieved (with when), or how far along it is."""
    achieved = {
        a.milestone_key: AchievedAt(a.achieved_at, a.days_to_achieve)
        for a in await repository.achievements_of(session, supplier_id)
    }
    counts = await lifetime_counts(session, supplier_id)
    matching = {
        key: await repository.matching_count(session, supplier_id, c)
        for key, c in filtered_conditions(catalog)
        if counts.get(c.event_type, 0) and key[0] not in achieved
    }
    return progress_from(catalog=catalog, achieved=achieved, counts=counts, matching=matching)


class AchievedAt(NamedTuple):
    """When a supplier achieved a milestone, and how many days after sign-up."""

    achieved_at: datetime
    days_to_achieve: float


ConditionKey = tuple[str, int]
"""A milestone's key and the position of one of its conditions."""


def filtered_conditions(catalog: MilestoneCatalog) -> list[tuple[ConditionKey, Condition]]:
    """The catalog's conditions with a property filter: their counts need the raw events;
    the others are read off the supplier's event totals."""
    return [
        ((m.key, n), c)
        for m in catalog.milestones
        for n, c in enumerate(m.conditions)
        if c.properties
    ]


def progress_from(
    *,
    catalog: MilestoneCatalog,
    achieved: Mapping[str, AchievedAt],
    counts: Mapping[str, int],
    matching: Mapping[ConditionKey, int],
) -> list[MilestoneProgress]:
    """Each milestone's progress from what was read: achievements by key, event totals by
    type and the counts of the property-filtered conditions (``matching``)."""
    out = []
    for m in catalog.milestones:
        done = achieved.get(m.key)
        share = 0.0
        for n, c in enumerate(m.conditions):
            have = counts.get(c.event_type, 0)
            if c.properties and have and not done:
                have = matching[(m.key, n)]
            share += min(have / c.min_count, 1.0)
        out.append(
            MilestoneProgress(
                key=m.key,
                name=m.name,
                description=m.description,
                achieved=done is not None,
                achieved_at=done.achieved_at if done else None,
                days_to_achieve=round(done.days_to_achieve, 1) if done else None,
                progress=1.0 if done else round(share / len(m.conditions), 3),
            )
        )
    return out
