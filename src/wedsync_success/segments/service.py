"""Segments: the definitions (file and API), evaluation with its success events, members.

Evaluation is set-based (two statements a segment, :func:`repository.apply_segment`), runs in
the caller's transaction after every health recompute (``pipeline.refresh``) and from
``segments evaluate``, and writes one ``segment.entered`` / ``segment.exited`` success event
per change into the outbox in that same transaction: the membership and its events commit
together or not at all.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEventType
from wedsync_success.kit.errors import Forbidden, NotFound, ValidationFailed
from wedsync_success.kit.pagination import decode_cursor, encode_cursor
from wedsync_success.milestones.definitions import MilestoneCatalog
from wedsync_success.segments import repository
from wedsync_success.segments.definitions import SegmentCatalog, SegmentDefinition
from wedsync_success.segments.models import StoredSegment
from wedsync_success.segments.repository import Changes, Moment
from wedsync_success.segments.rules import Rule, milestone_refusals
from wedsync_success.segments.schemas import (
    MEMBER_CSV_COLUMNS,
    Evaluation,
    MemberOut,
    MemberPage,
    SegmentIn,
    SegmentOut,
    SegmentPatch,
    SegmentSource,
)

SEGMENT_KEY = "segment_key"
"""The payload field of ``segment.entered`` / ``segment.exited`` that names the segment
(campaign triggers match on it)."""


@dataclass(frozen=True)
class Segment:
    """A definition and where it comes from (with its row when the API stored it)."""

    definition: SegmentDefinition
    source: SegmentSource
    stored: StoredSegment | None = None


def _from_row(row: StoredSegment) -> Segment:
    definition = SegmentDefinition(
        key=row.key,
        name=row.name,
        description=row.description,
        rules=Rule.model_validate(row.rules),
    )
    return Segment(definition=definition, source=SegmentSource.API, stored=row)


async def all_segments(*, session: AsyncSession, catalog: SegmentCatalog) -> list[Segment]:
    """The file's segments, then the API's, by key."""
    file_segments = [Segment(definition=d, source=SegmentSource.FILE) for d in catalog.segments]
    stored = [_from_row(r) for r in await repository.stored_segments(session)]
    return sorted(file_segments + stored, key=lambda s: s.definition.key)


async def segment_by_key(*, session: AsyncSession, catalog: SegmentCatalog, key: str) -> Segment:
    definition = catalog.get(key)
    if definition is not None:
        return Segment(definition=definition, source=SegmentSource.FILE)
    row = await repository.stored_segment(session, key)
    if row is None:
        raise NotFound(f"No segment {key!r}", details=[{"field": "key", "reason": "unknown"}])
    return _from_row(row)


async def _outs(session: AsyncSession, segments: Sequence[Segment]) -> list[SegmentOut]:
    keys = [s.definition.key for s in segments]
    counts = await repository.member_counts(session, keys)
    latest = await repository.last_entered(session, keys)
    evaluated = await repository.evaluated_at(session, keys)
    return [
        SegmentOut(
            key=s.definition.key,
            name=s.definition.name,
            description=s.definition.description,
            rules=s.definition.rules.model_dump(mode="json", exclude_none=True),
            source=s.source,
            member_count=counts.get(s.definition.key, 0),
            last_entered_at=latest.get(s.definition.key),
            last_evaluated_at=evaluated.get(s.definition.key),
            created_at=s.stored.created_at if s.stored else None,
            updated_at=s.stored.updated_at if s.stored else None,
        )
        for s in segments
    ]


async def list_segments(*, session: AsyncSession, catalog: SegmentCatalog) -> list[SegmentOut]:
    """Every segment with its current member count."""
    return await _outs(session, await all_segments(session=session, catalog=catalog))


async def get_segment(*, session: AsyncSession, catalog: SegmentCatalog, key: str) -> SegmentOut:
    segment = await segment_by_key(session=session, catalog=catalog, key=key)
    return (await _outs(session, [segment]))[0]


def _check_milestones(rule: Rule, milestones: MilestoneCatalog) -> None:
    refusals = milestone_refusals(rule, {m.key for m in milestones.milestones})
    if refusals:
        raise ValidationFailed(
            "The rules name unknown milestones: " + ", ".join(r["field"] for r in refusals),
            details=refusals,
        )


def _file_segment(key: str) -> Forbidden:
    return Forbidden(
        f"Segment {key!r} is defined in the segments file; change it there",
        details=[{"field": "key", "reason": "defined in the segments file (read-only here)"}],
    )


async def create_segment(
    *,
    session: AsyncSession,
    catalog: SegmentCatalog,
    milestones: MilestoneCatalog,
    data: SegmentIn,
    now: datetime,
) -> Evaluation:
    """Store a new segment and evaluate it at once (its members' events included)."""
    _check_milestones(data.rules, milestones)
    if catalog.get(data.key) is not None:
        raise ValidationFailed(
            f"Segment {data.key!r} is defined in the segments file",
            details=[{"field": "key", "reason": "already exists (in the segments file)"}],
        )
    await repository.lock_segments(session, [data.key])
    if await repository.stored_segment(session, data.key) is not None:
        raise ValidationFailed(
            f"A segment {data.key!r} already exists",
            details=[{"field": "key", "reason": "already exists"}],
        )
    row = StoredSegment(
        key=data.key,
        name=data.name,
        description=data.description,
        rules=data.rules.model_dump(mode="json", exclude_none=True),
        created_at=now,
        updated_at=now,
    )
    await repository.add_segment(session, row)
    return (await _evaluate_locked(session, [_from_row(row)], now=now, supplier_ids=None))[0]


async def update_segment(
    *,
    session: AsyncSession,
    catalog: SegmentCatalog,
    milestones: MilestoneCatalog,
    key: str,
    patch: SegmentPatch,
    now: datetime,
) -> Evaluation:
    """Change an API segment and evaluate it again (a new rule moves members in and out)."""
    if catalog.get(key) is not None:
        raise _file_segment(key)
    if patch.rules is not None:
        _check_milestones(patch.rules, milestones)
    await repository.lock_segments(session, [key])
    row = await repository.stored_segment(session, key)
    if row is None:
        raise NotFound(f"No segment {key!r}", details=[{"field": "key", "reason": "unknown"}])
    if patch.name is not None:
        row.name = patch.name
    if patch.description is not None:
        row.description = patch.description
    if patch.rules is not None:
        row.rules = patch.rules.model_dump(mode="json", exclude_none=True)
    row.updated_at = now
    await session.flush()
    return (await _evaluate_locked(session, [_from_row(row)], now=now, supplier_ids=None))[0]


async def delete_segment(
    *, session: AsyncSession, catalog: SegmentCatalog, key: str, now: datetime
) -> int:
    """Delete an API segment; each member leaves it (a ``segment.exited`` event each).
    Returns how many members it had."""
    if catalog.get(key) is not None:
        raise _file_segment(key)
    await repository.lock_segments(session, [key])
    row = await repository.stored_segment(session, key)
    if row is None:
        raise NotFound(f"No segment {key!r}", details=[{"field": "key", "reason": "unknown"}])
    segment = _from_row(row)
    exited = await repository.forget_members(session, key)
    await repository.forget_evaluation(session, key)
    await repository.delete_segment(session, row)
    await _announce(session, segment.definition, Changes(entered=[], exited=exited), now=now)
    return len(exited)


def moment_of(now: datetime) -> Moment:
    """Rules are judged at ``now``; activity windows end on its UTC day."""
    return Moment(at=now, day=now.date())


async def evaluate(
    *,
    session: AsyncSession,
    catalog: SegmentCatalog,
    now: datetime,
    supplier_ids: Sequence[uuid.UUID] | None = None,
    keys: Sequence[str] | None = None,
) -> list[Evaluation]:
    """Bring the membership of every segment (or of ``keys``) up to date for ``supplier_ids``
    (everyone when ``None``), with a success event per change, in the caller's transaction.

    Takes each segment's lock (PostgreSQL) first, in key order: two evaluations at once run
    one after the other per segment, so a supplier enters once, with one event.
    """
    segments = await all_segments(session=session, catalog=catalog)
    if keys is not None:
        wanted = set(keys)
        unknown = sorted(wanted - {s.definition.key for s in segments})
        if unknown:
            raise NotFound(
                f"No segment {', '.join(map(repr, unknown))}",
                details=[{"field": "key", "reason": f"unknown segment {k!r}"} for k in unknown],
            )
        segments = [s for s in segments if s.definition.key in wanted]
    if not segments:
        return []
    await repository.lock_segments(session, [s.definition.key for s in segments])
    return await _evaluate_locked(session, segments, now=now, supplier_ids=supplier_ids)


async def _evaluate_locked(
    session: AsyncSession,
    segments: Sequence[Segment],
    *,
    now: datetime,
    supplier_ids: Sequence[uuid.UUID] | None,
) -> list[Evaluation]:
    moment = moment_of(now)
    results: list[tuple[str, Changes]] = []
    for segment in segments:
        definition = segment.definition
        changes = await repository.apply_segment(
            session,
            key=definition.key,
            rule=definition.rules,
            moment=moment,
            supplier_ids=supplier_ids,
        )
        await _announce(session, definition, changes, now=now)
        results.append((definition.key, changes))
    if supplier_ids is None:
        await repository.record_evaluations(session, [key for key, _ in results], now)
    counts = await repository.member_counts(session, [key for key, _ in results])
    return [
        Evaluation(
            key=key,
            entered=len(changes.entered),
            exited=len(changes.exited),
            members=counts.get(key, 0),
        )
        for key, changes in results
    ]


async def _announce(
    session: AsyncSession, definition: SegmentDefinition, changes: Changes, *, now: datetime
) -> None:
    payload = {SEGMENT_KEY: definition.key, "segment_name": definition.name}
    events = [
        NewEvent(event_type=event_type, supplier_id=supplier_id, occurred_at=now, payload=payload)
        for event_type, ids in (
            (SuccessEventType.SEGMENT_EXITED, changes.exited),
            (SuccessEventType.SEGMENT_ENTERED, changes.entered),
        )
        for supplier_id in ids
    ]
    await enqueue(session=session, events=events, now=now)


def _member_out(row: repository.MemberRow) -> MemberOut:
    supplier_id, external_id, name, vendor_type, plan_tier, country, entered_at = row
    return MemberOut(
        supplier_id=supplier_id,
        external_id=external_id,
        business_name=name,
        vendor_type=vendor_type,
        plan_tier=plan_tier,
        country=country,
        entered_at=entered_at,
    )


async def members(
    *,
    session: AsyncSession,
    catalog: SegmentCatalog,
    key: str,
    cursor: str | None,
    limit: int,
) -> MemberPage:
    """A page of a segment's members, in supplier id order (keyset cursor)."""
    await segment_by_key(session=session, catalog=catalog, key=key)
    after = decode_cursor(cursor, shape=(uuid.UUID,))[0] if cursor else None
    rows = await repository.members_page(session, key, after=after, limit=limit + 1)
    items = [_member_out(r) for r in rows[:limit]]
    total = (await repository.member_counts(session, [key])).get(key, 0)
    more = len(rows) > limit
    return MemberPage(
        items=items,
        next_cursor=encode_cursor([str(items[-1].supplier_id)]) if more else None,
        total=total,
    )


CSV_PAGE = 5000
"""Members read per query while a CSV export streams."""
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text (a leading ``=``/``+``/``-``/``@`` would be
    read as a formula: a supplier names its own business)."""
    text = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


async def members_csv(
    *, session: AsyncSession, catalog: SegmentCatalog, key: str
) -> AsyncIterator[str]:
    """A segment's members as CSV text, a header then a chunk per page of
    :data:`CSV_PAGE` (keyset pages, so memory stays flat however many members)."""
    await segment_by_key(session=session, catalog=catalog, key=key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MEMBER_CSV_COLUMNS)
    after: uuid.UUID | None = None
    while True:
        rows = await repository.members_page(session, key, after=after, limit=CSV_PAGE)
        writer.writerows([_cell(v) for v in row] for row in rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < CSV_PAGE:
            return
        after = rows[-1][0]
