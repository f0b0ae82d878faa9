"""Every query of the surveys room."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, cast, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.db.bulk import upsert_columns
from wedsync_success.db.types import as_date
from wedsync_success.db.upsert import dialect_insert
from wedsync_success.reports.windows import ReportPeriod
from wedsync_success.suppliers.models import Supplier
from wedsync_success.surveys.kinds import (
    CSAT_LOW_MAX,
    DETRACTOR_MAX,
    PROMOTER_MIN,
    SATISFIED_MIN,
    SurveyKind,
)
from wedsync_success.surveys.models import SurveyAutoAsk, SurveyResponse, SurveySent
from wedsync_success.surveys.schemas import Segment

SEGMENT_COLUMNS = {
    Segment.VENDOR_TYPE: Supplier.vendor_type,
    Segment.PLAN: Supplier.plan_tier,
    Segment.COUNTRY: Supplier.country,
}
"""What a report breaks responses down by: the supplier's current values."""
UNPROMPTED = "unprompted"
"""The trigger segment of a response no survey of ours asked (an API or file response)."""


async def insert_responses(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert ``rows`` (one bulk statement, columns not rows: ``db.bulk``), skipping any
    ``response_id`` already stored, even by a concurrent transaction; the ids this call
    inserted: those whose stored row carries the ``id`` this call made."""
    if not rows:
        return set()
    table = SurveyResponse.__table__
    names = [c.name for c in table.c]
    await upsert_columns(
        session,
        table,  # type: ignore[arg-type]
        key=("response_id",),
        columns={name: [row[name] for row in rows] for name in names},
        skip_existing=True,
    )
    made = [row["id"] for row in rows]
    found = await session.scalars(
        select(SurveyResponse.response_id).where(SurveyResponse.id.in_(made))
    )
    return set(found.all())


async def claim_asks(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> set[tuple[uuid.UUID, str, str]]:
    """Insert one row per ``(supplier_id, trigger, reference)`` not decided before (even by
    a concurrent transaction: that one wins, this one skips it), in key order; the keys
    this call inserted."""
    if not rows:
        return set()
    ordered = sorted(rows, key=lambda r: (str(r["supplier_id"]), r["trigger"], r["reference"]))
    t = SurveyAutoAsk.__table__
    statement = (
        dialect_insert(session, SurveyAutoAsk)
        .on_conflict_do_nothing(index_elements=[t.c.supplier_id, t.c.trigger, t.c.reference])
        .returning(t.c.supplier_id, t.c.trigger, t.c.reference)
    )
    inserted = await session.execute(statement, ordered)
    return {(supplier_id, trigger, reference) for supplier_id, trigger, reference in inserted}


async def set_ask_outcome(
    session: AsyncSession,
    *,
    key: tuple[uuid.UUID, str, str],
    outcome: str,
    survey_id: uuid.UUID | None,
) -> None:
    t = SurveyAutoAsk
    supplier_id, trigger, reference = key
    await session.execute(
        update(t)
        .where(t.supplier_id == supplier_id, t.trigger == trigger, t.reference == reference)
        .values(outcome=outcome, survey_id=survey_id)
    )


async def add_sent(session: AsyncSession, row: SurveySent) -> None:
    session.add(row)
    await session.flush()


async def last_asked(
    session: AsyncSession, *, supplier_user_id: uuid.UUID, kind: SurveyKind
) -> datetime | None:
    """When the user was last asked a survey of ``kind``."""
    value: datetime | None = await session.scalar(
        select(func.max(SurveySent.created_at)).where(
            SurveySent.supplier_user_id == supplier_user_id, SurveySent.kind == kind.value
        )
    )
    if value is not None and not isinstance(value, datetime):  # SQLite's max() answers text
        value = datetime.fromisoformat(str(value))
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


async def sent_for_intervention(
    session: AsyncSession, intervention_id: uuid.UUID
) -> SurveySent | None:
    result: SurveySent | None = await session.scalar(
        select(SurveySent).where(SurveySent.intervention_id == intervention_id)
    )
    return result


async def response(session: AsyncSession, response_id: str) -> SurveyResponse | None:
    result: SurveyResponse | None = await session.scalar(
        select(SurveyResponse).where(SurveyResponse.response_id == response_id)
    )
    return result


async def set_comment(session: AsyncSession, response_id: str, comment: str) -> None:
    await session.execute(
        update(SurveyResponse)
        .where(SurveyResponse.response_id == response_id)
        .values(comment=comment)
    )


async def recent_for_supplier(
    session: AsyncSession, supplier_id: uuid.UUID, *, limit: int
) -> Sequence[SurveyResponse]:
    """The supplier's responses, newest first."""
    rows = await session.scalars(
        select(SurveyResponse)
        .where(SurveyResponse.supplier_id == supplier_id)
        .order_by(SurveyResponse.responded_at.desc(), SurveyResponse.id)
        .limit(limit)
    )
    return rows.all()


async def latest_of_kind(
    session: AsyncSession, supplier_id: uuid.UUID, kind: SurveyKind
) -> SurveyResponse | None:
    result: SurveyResponse | None = await session.scalar(
        select(SurveyResponse)
        .where(SurveyResponse.supplier_id == supplier_id, SurveyResponse.kind == kind.value)
        .order_by(SurveyResponse.responded_at.desc(), SurveyResponse.id)
        .limit(1)
    )
    return result


async def listing(
    session: AsyncSession,
    *,
    kind: SurveyKind | None,
    supplier_id: uuid.UUID | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> Sequence[SurveyResponse]:
    """Responses newest first, filtered."""
    conditions: list[ColumnElement[bool]] = []
    if kind is not None:
        conditions.append(SurveyResponse.kind == kind.value)
    if supplier_id is not None:
        conditions.append(SurveyResponse.supplier_id == supplier_id)
    if start is not None:
        conditions.append(SurveyResponse.responded_at >= start)
    if end is not None:
        conditions.append(SurveyResponse.responded_at < end)
    rows = await session.scalars(
        select(SurveyResponse)
        .where(and_(True, *conditions))
        .order_by(SurveyResponse.responded_at.desc(), SurveyResponse.id)
        .limit(limit)
    )
    return rows.all()


async def suppliers_due(
    session: AsyncSession, *, kind: SurveyKind, asked_before: datetime, limit: int
) -> list[uuid.UUID]:
    """Active customers none of whose users was asked ``kind`` since ``asked_before``
    (one query, oldest customers first)."""
    recent = exists().where(
        SurveySent.supplier_id == Supplier.id,
        SurveySent.kind == kind.value,
        SurveySent.created_at >= asked_before,
    )
    rows = await session.scalars(
        select(Supplier.id)
        .where(Supplier.subscription_status == "active", ~recent)
        .order_by(Supplier.signed_up_at, Supplier.id)
        .limit(limit)
    )
    return list(rows)


@dataclass(frozen=True)
class ScoreCounts:
    """Counts of one (period, segment) cell: all responses, the high and the low ones."""

    bucket: date
    segment: str | None
    responses: int
    high: int  # NPS promoters (9-10) / CSAT satisfied (4-5)
    low: int  # NPS detractors (0-6) / CSAT low scores (1-2)


def _bucket(session: AsyncSession, period: ReportPeriod) -> ColumnElement[Any]:
    """The first day of the calendar quarter, month or ISO week (Monday) of ``responded_at``
    (UTC)."""
    column = SurveyResponse.responded_at
    if session.get_bind().dialect.name == "postgresql":
        utc = func.timezone("UTC", column)
        return func.date(func.date_trunc(period.value, utc))
    if period is ReportPeriod.MONTH:
        return func.strftime("%Y-%m-01", column)
    if period is ReportPeriod.QUARTER:
        month = cast(func.strftime("%m", column), Integer)
        return func.printf("%s-%02d-01", func.strftime("%Y", column), (month - 1) // 3 * 3 + 1)
    # 'weekday 0' moves to the next Sunday (or stays on one); six days back is its Monday.
    return func.date(column, "weekday 0", "-6 days")


async def score_counts(
    session: AsyncSession,
    *,
    kind: SurveyKind,
    start: datetime,
    end: datetime,
    period: ReportPeriod,
    by: Segment,
) -> list[ScoreCounts]:
    """Responses of ``kind`` in ``[start, end)`` counted per period and segment, in SQL."""
    bucket = _bucket(session, period).label("bucket")
    score = SurveyResponse.score
    if kind is SurveyKind.NPS:
        high = func.sum(case((score >= PROMOTER_MIN, 1), else_=0))
        low = func.sum(case((score <= DETRACTOR_MAX, 1), else_=0))
    else:
        high = func.sum(case((score >= SATISFIED_MIN, 1), else_=0))
        low = func.sum(case((score <= CSAT_LOW_MAX, 1), else_=0))
    segment_column: Any = SEGMENT_COLUMNS.get(by)
    columns: list[Any] = [bucket, func.count().label("n"), high.label("high"), low.label("low")]
    statement = select(*columns).where(
        SurveyResponse.kind == kind.value,
        SurveyResponse.responded_at >= start,
        SurveyResponse.responded_at < end,
    )
    if by is Segment.TRIGGER:
        segment_column = func.coalesce(SurveySent.trigger, UNPROMPTED)
        statement = (
            statement.add_columns(segment_column.label("segment"))
            .outerjoin(SurveySent, SurveySent.id == SurveyResponse.survey_id)
            .group_by(bucket, segment_column)
        )
    elif segment_column is not None:
        statement = (
            statement.add_columns(segment_column.label("segment"))
            .join(Supplier, Supplier.id == SurveyResponse.supplier_id)
            .group_by(bucket, segment_column)
        )
    else:
        statement = statement.group_by(bucket)
    rows = (await session.execute(statement)).all()
    out: list[ScoreCounts] = []
    for row in rows:
        day = as_date(row.bucket)
        assert day is not None, "every response has an instant"
        out.append(
            ScoreCounts(
                bucket=day,
                segment=row.segment if segment_column is not None else None,
                responses=int(row.n),
                high=int(row.high or 0),
                low=int(row.low or 0),
            )
        )
    return out
