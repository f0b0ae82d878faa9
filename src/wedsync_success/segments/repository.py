"""Every query of the segments domain: a rule compiled to one SQL condition, membership
changes as set differences, the stored segments and paged members.

Evaluating a segment is two statements, whatever the population: a ``DELETE … RETURNING`` of
the members its rule no longer matches and an ``INSERT … SELECT … RETURNING`` of the matching
suppliers not yet members. The rule is one ``WHERE`` over ``suppliers`` joined to the
current health score and churn prediction; milestones are ``EXISTS`` probes of the
achievements' primary key and activity counts are sums over ``daily_rollups`` by its primary
key (supplier, day, type), so nothing is read per supplier in Python.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity.models import DailyRollup
from wedsync_success.churn.models import SupplierChurnCurrent
from wedsync_success.db.upsert import dialect_insert
from wedsync_success.health.models import HealthScore
from wedsync_success.milestones.models import MilestoneAchievement
from wedsync_success.segments.models import SegmentEvaluation, SegmentMembership, StoredSegment
from wedsync_success.segments.rules import ACTIVITY_PREFIX, MILESTONE_OPS, Op, Rule
from wedsync_success.suppliers.models import Supplier
from wedsync_success.suppliers.subscriptions import active_at

SEGMENT_LOCK_CLASS = 0x5EDE
"""First key of the two-key advisory locks of segments (a space apart from the one-key
supplier and population locks of ``db/locks.py`` and the event-id buckets, class 0x5EDD)."""

_LOCK_EACH = text(
    "SELECT count(pg_advisory_xact_lock(CAST(:cls AS integer), k)) FROM unnest(:keys) AS k"
).bindparams(bindparam("keys", type_=ARRAY(Integer)))

_COLUMNS: dict[str, Any] = {
    "vendor_type": Supplier.vendor_type,
    "plan_tier": Supplier.plan_tier,
    "subscription_status": Supplier.subscription_status,
    "country": Supplier.country,
    "acquisition_channel": Supplier.acquisition_channel,
    "mrr_minor": Supplier.mrr_minor,
    "churn.probability": SupplierChurnCurrent.probability,
    "churn.risk_band": SupplierChurnCurrent.risk_band,
}


def segment_lock_key(key: str) -> int:
    """A segment's advisory lock key (32 bits of a hash of its key)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big", signed=True)


async def lock_segments(session: AsyncSession, keys: Sequence[str]) -> None:
    """Serialise this transaction with every other evaluation of ``keys`` (PostgreSQL; SQLite
    has one writer). Taken after any supplier locks and in ascending order, so the global
    lock order of ``db/locks.py`` still holds: a waiter here holds no lock a holder needs."""
    if session.get_bind().dialect.name != "postgresql" or not keys:
        return
    ordered = sorted({segment_lock_key(k) for k in keys})
    await session.execute(_LOCK_EACH, {"cls": SEGMENT_LOCK_CLASS, "keys": ordered})


@dataclass(frozen=True)
class Moment:
    """What a rule is judged against: the instant (activity, tenure) and its day."""

    at: datetime
    day: date

    def at_minus(self, days: int) -> Any:
        return self.at - timedelta(days=days)

    def day_minus(self, days: int) -> Any:
        return self.day - timedelta(days=days)


class _BoundMoment:
    """A :class:`Moment` as bind parameters, for a statement built once and run at any
    moment: it records the offsets the rule asked for, whose values :meth:`values` gives."""

    def __init__(self) -> None:
        self.at = bindparam("moment_at", type_=SegmentMembership.entered_at.type)
        self.day = bindparam("moment_day", type_=DailyRollup.day.type)
        self._at_offsets: set[int] = set()
        self._day_offsets: set[int] = set()

    def at_minus(self, days: int) -> Any:
        self._at_offsets.add(days)
        return bindparam(f"moment_at_minus_{days}", type_=SegmentMembership.entered_at.type)

    def day_minus(self, days: int) -> Any:
        self._day_offsets.add(days)
        return bindparam(f"moment_day_minus_{days}", type_=DailyRollup.day.type)

    def offsets(self) -> tuple[frozenset[int], frozenset[int]]:
        return frozenset(self._at_offsets), frozenset(self._day_offsets)


AnyMoment = Moment | _BoundMoment


def _column(name: str) -> Any:
    if name.startswith("health."):
        return getattr(HealthScore, name.removeprefix("health."))
    return _COLUMNS[name]


def _compare(column: Any, op: Op, value: Any) -> ColumnElement[bool]:
    match op:
        case Op.EQ:
            return column == value  # type: ignore[no-any-return]
        case Op.NE:
            return column != value  # type: ignore[no-any-return]
        case Op.IN:
            return column.in_(list(value))  # type: ignore[no-any-return]
        case Op.NOT_IN:
            return column.not_in(list(value))  # type: ignore[no-any-return]
        case Op.LT:
            return column < value  # type: ignore[no-any-return]
        case Op.LTE:
            return column <= value  # type: ignore[no-any-return]
        case Op.GT:
            return column > value  # type: ignore[no-any-return]
        case Op.GTE:
            return column >= value  # type: ignore[no-any-return]
    raise AssertionError(f"not a comparison: {op}")


def _tenure(op: Op, days: int, moment: AnyMoment) -> ColumnElement[bool]:
    """``tenure_days op days`` as a range of signup instants: tenure >= N exactly when the
    signup is at least N days before the moment (no date arithmetic in SQL, same on both)."""
    signed = Supplier.signed_up_at

    def at_least(n: int) -> ColumnElement[bool]:
        at_most: datetime = moment.at_minus(n)
        return signed <= at_most

    match op:
        case Op.GTE:
            return at_least(days)
        case Op.GT:
            return at_least(days + 1)
        case Op.LT:
            return not_(at_least(days))
        case Op.LTE:
            return not_(at_least(days + 1))
        case Op.EQ:
            return and_(at_least(days), not_(at_least(days + 1)))
        case Op.NE:
            return or_(not_(at_least(days)), at_least(days + 1))
    raise AssertionError(f"not a comparison: {op}")


def _activity(rule: Rule, moment: AnyMoment) -> ColumnElement[bool]:
    """Events of a type on the last ``days`` days up to the moment's day, compared."""
    assert rule.field is not None
    assert rule.op is not None
    assert rule.days is not None
    r = DailyRollup
    count = (
        select(func.coalesce(func.sum(r.count), 0))
        .where(
            r.supplier_id == Supplier.id,
            r.day > moment.day_minus(rule.days),
            r.day <= moment.day,
            r.event_type == rule.field.removeprefix(ACTIVITY_PREFIX),
        )
        .scalar_subquery()
    )
    return _compare(count, rule.op, rule.value)


def _milestone(rule: Rule) -> ColumnElement[bool]:
    a = MilestoneAchievement
    achieved = exists().where(a.supplier_id == Supplier.id, a.milestone_key == rule.value)
    return achieved if rule.op is Op.ACHIEVED else not_(achieved)


def _costly(rule: Rule) -> bool:
    """Whether ``rule`` probes another table per supplier (milestones, activity counts)."""
    return any(
        c.op in MILESTONE_OPS or (c.field or "").startswith(ACTIVITY_PREFIX)
        for c in rule.conditions()
    )


def _group(rule: Rule, moment: AnyMoment) -> ColumnElement[bool]:
    """A group with its cheap terms (columns of the joined rows) first and its costly ones
    (subqueries) behind a ``CASE`` on them.

    A planner evaluates a term at the first join level where its tables are available: a
    subquery on the supplier alone ran for every supplier before the health score's join
    could reject it (champions: every supplier's 180 days of rollups summed to keep the 1 %
    scoring 85+; 1.5 s of 1.5 s at 20,000 suppliers on SQLite). ``CASE`` is evaluated in
    order, so the subqueries run only for the rows the cheap terms let through."""
    cheap = [compile_rule(r, moment) for r in rule.items if not _costly(r)]
    costly = [compile_rule(r, moment) for r in rule.items if _costly(r)]
    if rule.all is not None:
        if not cheap or not costly:
            return and_(true(), *cheap, *costly)
        gate = and_(*cheap)
        return and_(gate, case((gate, and_(*costly)), else_=false()))
    if not cheap or not costly:
        return or_(false(), *cheap, *costly)
    return case((or_(*cheap), true()), else_=or_(*costly))


def compile_rule(rule: Rule, moment: AnyMoment) -> ColumnElement[bool]:
    """``rule`` as one SQL condition over suppliers joined to their current health score and
    churn prediction (see :func:`matching`)."""
    if rule.items:
        return _group(rule, moment)
    assert rule.field is not None
    assert rule.op is not None
    if rule.op in MILESTONE_OPS:
        return _milestone(rule)
    if rule.field.startswith(ACTIVITY_PREFIX):
        return _activity(rule, moment)
    if rule.field == "tenure_days":
        return _tenure(rule.op, int(rule.value), moment)
    return _compare(_column(rule.field), rule.op, rule.value)


def matching(
    rule: Rule, moment: AnyMoment, supplier_ids: Sequence[uuid.UUID] | None
) -> Select[uuid.UUID]:
    """The ids of the suppliers active at the moment that ``rule`` matches (among
    ``supplier_ids`` when given)."""
    query = (
        select(Supplier.id)
        .outerjoin(HealthScore, HealthScore.supplier_id == Supplier.id)
        .outerjoin(SupplierChurnCurrent, SupplierChurnCurrent.supplier_id == Supplier.id)
        .where(active_at(moment.at), compile_rule(rule, moment))
    )
    if supplier_ids is not None:
        query = query.where(Supplier.id.in_(list(supplier_ids)))
    return query


@dataclass(frozen=True)
class Changes:
    """The suppliers an evaluation moved into and out of one segment."""

    entered: list[uuid.UUID]
    exited: list[uuid.UUID]


async def apply_segment(
    session: AsyncSession,
    *,
    key: str,
    rule: Rule,
    moment: Moment,
    supplier_ids: Sequence[uuid.UUID] | None,
) -> Changes:
    """Make the stored members of ``key`` (among ``supplier_ids`` when given) exactly the
    suppliers ``rule`` matches now: delete who left, insert who joined, returning each set.
    Two statements whatever the population: the set differences are computed in SQL.

    The caller holds the segment's lock (:func:`lock_segments`), so a concurrent evaluation
    sees this one's members once it commits and inserts none of them again.
    """
    gone, joined, (at_offsets, day_offsets) = _membership_statements(
        key, rule.model_dump_json(), supplier_ids is not None
    )
    values: dict[str, Any] = {"moment_at": moment.at, "moment_day": moment.day}
    values |= {f"moment_at_minus_{n}": moment.at_minus(n) for n in at_offsets}
    values |= {f"moment_day_minus_{n}": moment.day_minus(n) for n in day_offsets}
    if supplier_ids is not None:
        values["supplier_ids"] = list(supplier_ids)
    exited = list(await session.scalars(gone, values))
    entered = list(await session.scalars(joined, values))
    return Changes(entered=entered, exited=exited)


@lru_cache(maxsize=256)
def _membership_statements(
    key: str, rule_json: str, by_ids: bool
) -> tuple[Any, Any, tuple[frozenset[int], frozenset[int]]]:
    """:func:`apply_segment`'s two statements for one segment's rule (a changed rule is
    another entry), the moment and supplier ids bound at execution, and the day offsets the
    rule binds. Built once: compiling every segment's rule again was a third of the CPU an
    ingest of a few events cost. They hold no data."""
    rule = Rule.model_validate_json(rule_json)
    moment = _BoundMoment()
    table: Table = SegmentMembership.__table__  # type: ignore[assignment]
    m = table.c  # Core, not the mapped class: bound values would make an ORM bulk insert
    found = matching(rule, moment, None)
    if by_ids:
        found = found.where(Supplier.id.in_(bindparam("supplier_ids", expanding=True)))
    # Who left: the rule probed per current member by key (a member is a few suppliers of
    # the population), not the whole matching set computed a second time.
    still = exists(found.where(Supplier.id == m.supplier_id))
    gone = delete(table).where(m.segment_key == key, not_(still))
    if by_ids:
        gone = gone.where(m.supplier_id.in_(bindparam("supplier_ids", expanding=True)))
    member = exists().where(m.segment_key == key, m.supplier_id == Supplier.id)
    joined = insert(table).from_select(
        ["segment_key", "supplier_id", "entered_at"],
        found.with_only_columns(literal(key), Supplier.id, moment.at)
        .where(not_(member))
        .order_by(Supplier.id),
    )
    return gone.returning(m.supplier_id), joined.returning(m.supplier_id), moment.offsets()


async def forget_members(session: AsyncSession, key: str) -> list[uuid.UUID]:
    """Delete every membership of ``key`` (its segment is being deleted); the suppliers."""
    m = SegmentMembership
    return list(
        await session.scalars(delete(m).where(m.segment_key == key).returning(m.supplier_id))
    )


async def member_counts(session: AsyncSession, keys: Sequence[str]) -> dict[str, int]:
    m = SegmentMembership
    rows = await session.execute(
        select(m.segment_key, func.count())
        .where(m.segment_key.in_(list(keys)))
        .group_by(m.segment_key)
    )
    return {key: int(count) for key, count in rows}


async def last_entered(session: AsyncSession, keys: Sequence[str]) -> dict[str, datetime]:
    m = SegmentMembership
    rows = await session.execute(
        select(m.segment_key, func.max(m.entered_at))
        .where(m.segment_key.in_(list(keys)))
        .group_by(m.segment_key)
    )
    return {key: at for key, at in rows}


async def record_evaluations(session: AsyncSession, keys: Sequence[str], at: datetime) -> None:
    """Remember that ``keys`` were evaluated over every supplier at ``at`` (in key order: the
    caller holds those segments' locks, taken in the same order)."""
    if not keys:
        return
    e = SegmentEvaluation
    stmt = dialect_insert(session, e)
    stmt = stmt.on_conflict_do_update(
        index_elements=["segment_key"], set_={"evaluated_at": stmt.excluded.evaluated_at}
    )
    await session.execute(stmt, [{"segment_key": k, "evaluated_at": at} for k in sorted(keys)])


async def evaluated_at(session: AsyncSession, keys: Sequence[str]) -> dict[str, datetime]:
    e = SegmentEvaluation
    rows = await session.execute(
        select(e.segment_key, e.evaluated_at).where(e.segment_key.in_(list(keys)))
    )
    return {key: at for key, at in rows}


async def forget_evaluation(session: AsyncSession, key: str) -> None:
    await session.execute(delete(SegmentEvaluation).where(SegmentEvaluation.segment_key == key))


MemberRow = tuple[uuid.UUID, str | None, str, str, str, str, datetime]
"""supplier id, external id, business name, vendor type, plan tier, country, entered at"""


async def members_page(
    session: AsyncSession, key: str, *, after: uuid.UUID | None, limit: int
) -> list[MemberRow]:
    """Up to ``limit`` members of ``key`` by supplier id, after ``after`` (keyset: the
    primary key's order, so page N costs what page 1 does)."""
    m, s = SegmentMembership, Supplier
    query = (
        select(
            m.supplier_id,
            s.external_id,
            s.business_name,
            s.vendor_type,
            s.plan_tier,
            s.country,
            m.entered_at,
        )
        .join(s, s.id == m.supplier_id)
        .where(m.segment_key == key)
        .order_by(m.supplier_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(m.supplier_id > after)
    rows = await session.execute(query)
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def stored_segments(session: AsyncSession) -> list[StoredSegment]:
    return list(await session.scalars(select(StoredSegment).order_by(StoredSegment.key)))


async def stored_segment(session: AsyncSession, key: str) -> StoredSegment | None:
    return await session.get(StoredSegment, key)


async def add_segment(session: AsyncSession, segment: StoredSegment) -> None:
    session.add(segment)
    await session.flush()


async def delete_segment(session: AsyncSession, segment: StoredSegment) -> None:
    await session.delete(segment)
    await session.flush()
