"""The supplier profile's read: one statement for everything the profile shows.

A profile drew on seven domains in eleven statements (each a round trip, most of a read's
time under load). Here the supplier row and its health score are joined, and every list
(users with when they were last seen, milestone achievements, event totals, the counts of
property-filtered milestone conditions, recent activity, recent success events, survey
responses) is a scalar subquery aggregating its rows into one JSON array:
``json_agg(json_build_object(…))`` on PostgreSQL, ``json_group_array(json_object(…))`` on
SQLite. The arrays come back as text, are decoded here and their values typed (UUIDs,
aware UTC datetimes); their order is restored in Python from the keys each row carries,
since neither backend promises an aggregate keeps a sub-select's order.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity.models import ActivityEvent, SupplierEventTotal
from wedsync_success.activity.repository import of_types
from wedsync_success.events.models import OutboxEvent
from wedsync_success.health.models import HealthScore
from wedsync_success.milestones.definitions import Condition
from wedsync_success.milestones.models import MilestoneAchievement
from wedsync_success.milestones.repository import property_matches
from wedsync_success.milestones.service import ConditionKey
from wedsync_success.suppliers.models import Supplier, SupplierUser
from wedsync_success.surveys.kinds import SurveyKind
from wedsync_success.surveys.models import SurveyResponse

Row = dict[str, Any]


@dataclass(frozen=True)
class ProfileRows:
    """What the profile statement read, each list in the order the profile shows it."""

    supplier: Supplier
    health: HealthScore | None
    users: list[Row]
    """id, email, name, role, phone, last_seen_at; by creation."""
    achievements: list[Row]
    """milestone_key, achieved_at, days_to_achieve."""
    event_totals: dict[str, int]
    matching: dict[ConditionKey, int]
    """Each property-filtered condition asked for: how many of the supplier's events meet it."""
    recent_events: list[Row]
    """event_id, event_type, occurred_at, properties; newest first."""
    success_events: list[Row]
    """event_id, event_type, occurred_at, payload; newest first."""
    latest_nps: Row | None
    latest_csat: Row | None
    recent_responses: list[Row]
    """The survey responses (``ResponseOut``'s fields), newest first."""


class _Json:
    """The dialect's JSON building blocks."""

    def __init__(self, dialect: str) -> None:
        self.postgresql = dialect == "postgresql"

    def object(self, fields: Mapping[str, ColumnElement[Any]]) -> ColumnElement[Any]:
        args: list[ColumnElement[Any]] = []
        for key, value in fields.items():
            args += [literal_column(f"'{key}'"), value]
        return func.json_build_object(*args) if self.postgresql else func.json_object(*args)

    def embedded(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """A JSON column as JSON, not as the text SQLite keeps it in."""
        return value if self.postgresql else func.json(value)

    def rows(self, query: Select[*tuple[Any, ...]], *, json_columns: Sequence[str] = ()) -> Any:
        """``query``'s rows as one JSON array of objects keyed by column name ('[]' for none)."""
        sub = query.subquery()
        obj = self.object(
            {c.name: self.embedded(c) if c.name in json_columns else c for c in sub.c}
        )
        agg = func.json_agg(obj) if self.postgresql else func.json_group_array(obj)
        return select(func.coalesce(agg, literal_column("'[]'"))).select_from(sub).scalar_subquery()


def _decoded(value: Any) -> list[Row]:
    rows = json.loads(value) if isinstance(value, str | bytes) else value
    return list(rows or [])


def _utc(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _typed(rows: list[Row], *, uuids: Sequence[str] = (), times: Sequence[str] = ()) -> list[Row]:
    for row in rows:
        for name in uuids:
            if row[name] is not None:
                row[name] = uuid.UUID(row[name])
        for name in times:
            row[name] = _utc(row[name])
    return rows


ConditionSpec = tuple[ConditionKey, str, tuple[tuple[str, str], ...]]
"""A property-filtered condition as the statement needs it, hashable: its key, event type and
property filter (sorted)."""


def _spec(key: ConditionKey, condition: Condition) -> ConditionSpec:
    return key, condition.event_type, tuple(sorted(condition.properties.items()))


@lru_cache(maxsize=64)
def _profile_statement(
    dialect: str, by_id: bool, conditions: tuple[ConditionSpec, ...]
) -> Select[*tuple[Any, ...]]:
    """The profile's statement for one shape (backend, looked up by id or by external id only,
    the conditions counted), its values bound at execution (``as_id``, ``external_id``,
    ``event_limit``, ``response_limit``). Built once per shape: building it (a dozen JSON
    subqueries, each proxying its columns) cost more CPU than the database took to run it,
    and a reused statement also keeps its cache key, so SQLAlchemy finds the compiled form
    without walking the tree again. It holds no data: the rows are read at each execution."""
    j = _Json(dialect)
    s = Supplier
    as_id = bindparam("as_id", type_=s.id.type)
    external_id = bindparam("external_id", type_=s.external_id.type)
    event_limit = bindparam("event_limit", type_=Integer())
    response_limit = bindparam("response_limit", type_=Integer())
    match = (
        or_(s.id == as_id, s.external_id == external_id)
        if by_id
        else (s.external_id == external_id)
    )
    target = (
        select(s.id)
        .where(match)
        .order_by(case((s.id == as_id, 0), else_=1) if by_id else s.id)
        .limit(1)
        .correlate(None)
        .scalar_subquery()
    )
    e, u = ActivityEvent, SupplierUser
    seen = (
        select(e.user_id, func.max(e.occurred_at).label("last_seen_at"))
        .where(e.supplier_id == target, e.user_id.is_not(None))
        .group_by(e.user_id)
        .subquery()
    )
    users = j.rows(
        select(u.id, u.email, u.name, u.role, u.phone, u.created_at, seen.c.last_seen_at)
        .outerjoin(seen, seen.c.user_id == u.id)
        .where(u.supplier_id == target)
    )
    a = MilestoneAchievement
    achievements = j.rows(
        select(a.milestone_key, a.achieved_at, a.days_to_achieve).where(a.supplier_id == target)
    )
    t = SupplierEventTotal
    totals = j.rows(select(t.event_type, t.count).where(t.supplier_id == target))
    matching = [
        select(func.count())
        .select_from(e)
        .where(
            e.supplier_id == target,
            of_types(event_type),
            *property_matches(Condition(event_type=event_type, properties=dict(properties))),
        )
        .scalar_subquery()
        for _, event_type, properties in conditions
    ]
    recent = j.rows(
        select(e.event_id, e.event_type.label("event_type"), e.occurred_at, e.properties)
        .where(e.supplier_id == target)
        .order_by(e.occurred_at.desc(), e.event_id.desc())
        .limit(event_limit),
        json_columns=["properties"],
    )
    o = OutboxEvent
    success = j.rows(
        select(o.id, o.event_id, o.event_type, o.occurred_at, o.payload)
        .where(o.supplier_id == target)
        .order_by(o.id.desc())
        .limit(event_limit),
        json_columns=["payload"],
    )
    r = SurveyResponse
    response_columns = (
        r.id,
        r.response_id,
        r.kind,
        r.score,
        r.comment,
        r.supplier_id,
        r.supplier_user_id,
        r.survey_id,
        r.source,
        r.responded_at,
    )
    newest = (r.responded_at.desc(), r.id)
    latest = [
        j.rows(
            select(*response_columns)
            .where(r.supplier_id == target, r.kind == kind.value)
            .order_by(*newest)
            .limit(1)
        )
        for kind in (SurveyKind.NPS, SurveyKind.CSAT)
    ]
    responses = j.rows(
        select(*response_columns)
        .where(r.supplier_id == target)
        .order_by(*newest)
        .limit(response_limit)
    )
    return (
        select(
            s,
            HealthScore,
            users,
            achievements,
            totals,
            recent,
            success,
            *latest,
            responses,
            *matching,
        )
        .outerjoin(HealthScore, HealthScore.supplier_id == s.id)
        .where(s.id == target)
    )


async def profile_rows(
    session: AsyncSession,
    *,
    as_id: uuid.UUID | None,
    external_id: str,
    conditions: Sequence[tuple[ConditionKey, Condition]],
    event_limit: int,
    response_limit: int,
) -> ProfileRows | None:
    """The supplier with id ``as_id`` (else the one with ``external_id``) and everything its
    profile shows, in one statement; ``None`` when no supplier matches. ``conditions``: the
    property-filtered milestone conditions whose counts are wanted."""
    statement = _profile_statement(
        session.get_bind().dialect.name,
        as_id is not None,
        tuple(_spec(key, condition) for key, condition in conditions),
    )
    values: dict[str, Any] = {
        "external_id": external_id,
        "event_limit": event_limit,
        "response_limit": response_limit,
    }
    if as_id is not None:
        values["as_id"] = as_id
    row = (await session.execute(statement, values)).first()
    if row is None:
        return None
    supplier, health, users_j, achieved_j, totals_j, recent_j, success_j, nps_j, csat_j = row[:9]
    responses_j, counts = row[9], row[10:]
    nps, csat = _responses(nps_j), _responses(csat_j)
    return ProfileRows(
        supplier=supplier,
        health=health,
        users=sorted(
            _typed(_decoded(users_j), uuids=("id",), times=("created_at", "last_seen_at")),
            key=lambda x: (x["created_at"], x["id"]),
        ),
        achievements=sorted(
            _typed(_decoded(achieved_j), times=("achieved_at",)),
            key=lambda x: x["achieved_at"],
        ),
        event_totals={x["event_type"]: int(x["count"]) for x in _decoded(totals_j)},
        matching={key: int(n or 0) for (key, _), n in zip(conditions, counts, strict=True)},
        recent_events=_newest_first(
            _typed(_decoded(recent_j), times=("occurred_at",)), "occurred_at", "event_id"
        ),
        success_events=sorted(
            _typed(_decoded(success_j), uuids=("event_id",), times=("occurred_at",)),
            key=lambda x: -x["id"],
        ),
        latest_nps=nps[0] if nps else None,
        latest_csat=csat[0] if csat else None,
        recent_responses=_responses(responses_j),
    )


def _newest_first(rows: list[Row], when: str, tie: str) -> list[Row]:
    """Rows by ``when`` then ``tie``, both descending (as the SQL's ORDER BY)."""
    return sorted(rows, key=lambda x: (x[when], x[tie]), reverse=True)


def _responses(value: Any) -> list[Row]:
    """Survey responses, newest first and, at one instant, by id (as the SQL orders them)."""
    rows = _typed(
        _decoded(value),
        uuids=("id", "supplier_id", "supplier_user_id", "survey_id"),
        times=("responded_at",),
    )
    rows.sort(key=lambda x: x["id"])
    rows.sort(key=lambda x: x["responded_at"], reverse=True)  # stable: ids stay ascending
    return rows
