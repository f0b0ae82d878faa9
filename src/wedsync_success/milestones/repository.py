"""Every query of the milestones domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity.models import ActivityEvent, SupplierEventTotal
from wedsync_success.activity.repository import of_types
from wedsync_success.db.upsert import dialect_insert
from wedsync_success.milestones.definitions import Condition, MilestoneDefinition
from wedsync_success.milestones.models import MilestoneAchievement
from wedsync_success.suppliers.models import Supplier


def _condition_times(condition: Condition, key: str, by_ids: bool) -> Select[uuid.UUID, datetime]:
    """(supplier_id, t): when each not-yet-achieving supplier met ``condition`` (those of the
    ``supplier_ids`` expanding bind when ``by_ids``)."""
    totals = SupplierEventTotal
    eligible: list[ColumnElement[bool]] = [
        totals.event_type == condition.event_type,
        totals.count >= condition.min_count,
        totals.supplier_id.not_in(
            select(MilestoneAchievement.supplier_id).where(
                MilestoneAchievement.milestone_key == key
            )
        ),
    ]
    if by_ids:
        eligible.append(totals.supplier_id.in_(bindparam("supplier_ids", expanding=True)))
    if condition.min_count == 1 and not condition.properties:
        return select(totals.supplier_id, totals.first_at.label("t")).where(*eligible)
    # The Nth matching event: only suppliers whose totals already allow it are ranked.
    ev = ActivityEvent
    ranked = (
        select(
            ev.supplier_id,
            ev.occurred_at,
            func.row_number()
            .over(partition_by=ev.supplier_id, order_by=(ev.occurred_at, ev.event_id))
            .label("rn"),
        )
        .where(
            of_types(condition.event_type),
            ev.supplier_id.in_(select(totals.supplier_id).where(*eligible)),
            *property_matches(condition),
        )
        .subquery()
    )
    return select(ranked.c.supplier_id, ranked.c.occurred_at.label("t")).where(
        ranked.c.rn == condition.min_count
    )


def property_matches(condition: Condition) -> list[ColumnElement[bool]]:
    """SQL conditions for the condition's property filter (JSON on both backends)."""
    return [
        ActivityEvent.properties[name].as_string() == value
        for name, value in condition.properties.items()
    ]


async def matching_count(
    session: AsyncSession, supplier_id: uuid.UUID, condition: Condition
) -> int:
    """How many of one supplier's events satisfy ``condition``'s type and property filter."""
    count = await session.scalar(
        select(func.count())
        .select_from(ActivityEvent)
        .where(
            ActivityEvent.supplier_id == supplier_id,
            of_types(condition.event_type),
            *property_matches(condition),
        )
    )
    return int(count or 0)


@lru_cache(maxsize=256)
def _newly_met_statement(
    key: str, conditions: tuple[tuple[str, int, tuple[tuple[str, str], ...]], ...], by_ids: bool
) -> Select[uuid.UUID, datetime, datetime]:
    """:func:`newly_met`'s statement for one milestone definition (its key and conditions:
    a changed definition is another entry), built once: building it was most of the CPU an
    ingest of a few events cost, ten milestones a batch. It holds no data."""
    parts = [
        _condition_times(
            Condition(event_type=event_type, min_count=min_count, properties=dict(properties)),
            key,
            by_ids,
        )
        for event_type, min_count, properties in conditions
    ]
    met = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    per_supplier = (
        select(met.c.supplier_id, func.max(met.c.t).label("achieved_at"))
        .group_by(met.c.supplier_id)
        .having(func.count() == len(parts))
        .subquery()
    )
    return select(
        per_supplier.c.supplier_id, per_supplier.c.achieved_at, Supplier.signed_up_at
    ).join(Supplier, Supplier.id == per_supplier.c.supplier_id)


async def newly_met(
    session: AsyncSession,
    milestone: MilestoneDefinition,
    supplier_ids: Sequence[uuid.UUID] | None,
) -> list[tuple[uuid.UUID, datetime, datetime]]:
    """Suppliers meeting every condition of ``milestone`` for the first time.

    Returns (supplier_id, achieved_at, signed_up_at); ``achieved_at`` is the time of the
    event that completed the last condition.
    """
    conditions = tuple(
        (c.event_type, c.min_count, tuple(sorted(c.properties.items())))
        for c in milestone.conditions
    )
    statement = _newly_met_statement(milestone.key, conditions, supplier_ids is not None)
    values = {} if supplier_ids is None else {"supplier_ids": list(supplier_ids)}
    rows = await session.execute(statement, values)
    return list(rows)


async def record(session: AsyncSession, rows: list[dict[str, Any]]) -> list[tuple[uuid.UUID, str]]:
    """Insert achievements; ones already recorded are skipped. Returns the new (supplier, key)."""
    if not rows:
        return []
    stmt = (
        dialect_insert(session, MilestoneAchievement)
        .on_conflict_do_nothing(index_elements=["supplier_id", "milestone_key"])
        .returning(MilestoneAchievement.supplier_id, MilestoneAchievement.milestone_key)
    )
    ordered = sorted(rows, key=lambda row: (row["supplier_id"], row["milestone_key"]))
    result = await session.execute(stmt, ordered)  # in key order: one lock order for all
    return [(sid, key) for sid, key in result]


async def achievements_of(
    session: AsyncSession, supplier_id: uuid.UUID
) -> Sequence[MilestoneAchievement]:
    rows = await session.scalars(
        select(MilestoneAchievement)
        .where(MilestoneAchievement.supplier_id == supplier_id)
        .order_by(MilestoneAchievement.achieved_at)
    )
    return rows.all()


async def achievement_stats(session: AsyncSession) -> dict[str, tuple[int, float | None]]:
    """Per milestone key: how many suppliers achieved it, and the average days it took."""
    rows = await session.execute(
        select(
            MilestoneAchievement.milestone_key,
            func.count(),
            func.avg(MilestoneAchievement.days_to_achieve),
        ).group_by(MilestoneAchievement.milestone_key)
    )
    return {key: (int(n), float(avg) if avg is not None else None) for key, n, avg in rows}


async def achieved_keys(
    session: AsyncSession, supplier_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, set[str]]:
    """The milestones each of ``supplier_ids`` has achieved (absent: none)."""
    if not supplier_ids:
        return {}
    rows = await session.execute(
        select(MilestoneAchievement.supplier_id, MilestoneAchievement.milestone_key).where(
            MilestoneAchievement.supplier_id.in_(list(supplier_ids))
        )
    )
    out: dict[uuid.UUID, set[str]] = {}
    for supplier_id, key in rows:
        out.setdefault(supplier_id, set()).add(key)
    return out
