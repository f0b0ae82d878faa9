"""Every query of the referral network: edges kept from activity, metrics written and read."""

from __future__ import annotations

import typing
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    ColumnElement,
    LargeBinary,
    Select,
    Table,
    Uuid,
    and_,
    bindparam,
    case,
    cast,
    column,
    delete,
    func,
    literal,
    or_,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity.models import ActivityEvent, new_events
from wedsync_success.activity.repository import of_types
from wedsync_success.db import UTCDateTime
from wedsync_success.db.raw import untyped
from wedsync_success.db.staging import StagingTable, stage
from wedsync_success.db.upsert import dialect_insert
from wedsync_success.integrations.referrals.models import (
    REFEREE_KEY_LENGTH,
    ReferralEdge,
    ReferralMetric,
)
from wedsync_success.suppliers.models import Supplier

_METRICS = typing.cast(Table, ReferralMetric.__table__)


def _earliest(stored: ColumnElement[Any], new: ColumnElement[Any]) -> ColumnElement[Any]:
    """The earlier of two nullable instants (NULL only when both are)."""
    return case((stored.is_(None), new), (new.is_(None), stored), (new < stored, new), else_=stored)


def _supplier_uuid(session: AsyncSession, text: ColumnElement[str]) -> ColumnElement[Any]:
    """A canonical UUID text (the schema checked it) as the backend stores a ``Uuid``:
    native on PostgreSQL, 32 hex digits on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(text, Uuid)
    return func.replace(text, "-", "")


async def upsert_edges(
    session: AsyncSession,
    *,
    sent_types: Sequence[str],
    converted_types: Sequence[str],
    batch_id: int | None,
) -> None:
    """Fold the referral events newly stored under ``batch_id`` (read from the rows the
    batch's write kept aside, :data:`activity.models.new_events`; every stored event when
    ``None``: a rebuild) into ``referral_edges``, in one ``INSERT … SELECT … ON CONFLICT``.

    An edge is (referrer, referee key); its times are the earliest sent and converted events
    seen, its referee supplier the first one named. Folding the same events again changes
    nothing, so a replay (or a rebuild) is harmless.
    """
    types = [*sent_types, *converted_types]
    if not types:
        return
    # Events have no batch index: a batch's rows are found among those its write kept.
    e: Any = ActivityEvent if batch_id is None else new_events.c
    referred = func.lower(func.trim(e.properties["referred"].as_string()))
    named = func.lower(e.properties["referred_supplier_id"].as_string())
    filters: list[ColumnElement[bool]] = [of_types(*types, column=e.type_code)]
    if batch_id is not None:
        filters.append(e.batch_id == batch_id)
    per_event = (
        select(
            e.supplier_id.label("referrer_id"),
            func.substr(func.coalesce(referred, named), 1, REFEREE_KEY_LENGTH).label("key"),
            named.label("referee"),
            case(
                (
                    of_types(*sent_types, column=e.type_code) if sent_types else literal(False),
                    e.occurred_at,
                )
            ).label("sent"),
            case(
                (
                    of_types(*converted_types, column=e.type_code)
                    if converted_types
                    else literal(False),
                    e.occurred_at,
                )
            ).label("converted"),
        )
        .where(*filters)
        .subquery()
    )
    grouped = (
        select(
            per_event.c.referrer_id,
            per_event.c.key,
            _supplier_uuid(session, func.min(per_event.c.referee)),
            func.min(per_event.c.sent),
            func.min(per_event.c.converted),
        )
        .where(per_event.c.key.is_not(None))  # (also what SQLite needs before ON CONFLICT)
        .group_by(per_event.c.referrer_id, per_event.c.key)
        .order_by(per_event.c.referrer_id, per_event.c.key)  # one lock order for all writers
    )
    insert = dialect_insert(session, ReferralEdge)
    edge = ReferralEdge.__table__.c
    stmt = insert.from_select(
        ["referrer_id", "referee_key", "referee_supplier_id", "sent_at", "converted_at"], grouped
    ).on_conflict_do_update(
        index_elements=["referrer_id", "referee_key"],
        set_={
            "referee_supplier_id": func.coalesce(
                edge.referee_supplier_id, insert.excluded.referee_supplier_id
            ),
            "sent_at": _earliest(edge.sent_at, insert.excluded.sent_at),
            "converted_at": _earliest(edge.converted_at, insert.excluded.converted_at),
        },
    )
    await session.execute(stmt)


EDGE_RECORD = np.dtype([("referrer", "V16"), ("referee", "V16"), ("kind", "u1")])
"""One edge as :func:`edge_records` reads it: the referrer's and the referee's UUID bytes
(zeros unless the edge is :data:`LINKED`) and what the edge is."""
PENDING, CONVERTED, LINKED = 0, 1, 2
"""An edge's kind: sent only; converted (to a supplier not stored, or none named); converted
to a stored supplier (an edge of the network's graph)."""

_NO_REFEREE_HEX = "0" * 32


def _edge_blob(dialect: str) -> Select[Any]:
    """Every edge as one record of :data:`EDGE_RECORD`, all concatenated by the server into
    one value: bytes on PostgreSQL, hex text on SQLite (where a ``Uuid`` is 32 hex digits).
    Each edge is one record of a single aggregate, so its fields cannot be misaligned."""
    edge, supplier = ReferralEdge.__table__.c, Supplier.__table__.c
    linked = and_(edge.converted_at.is_not(None), supplier.id.is_not(None))
    if dialect == "postgresql":
        byte = {kind: literal(bytes([kind]), LargeBinary) for kind in (PENDING, CONVERTED, LINKED)}
        referee = case(
            (linked, func.uuid_send(edge.referee_supplier_id)),
            else_=literal(bytes(16), LargeBinary),
        )
        record = func.uuid_send(edge.referrer_id).op("||")(referee)
        kind: ColumnElement[Any] = case(
            (linked, byte[LINKED]),
            (edge.converted_at.is_not(None), byte[CONVERTED]),
            else_=byte[PENDING],
        )
        blob = func.string_agg(record.op("||")(kind), literal(b"", LargeBinary))
    else:
        referee = case((linked, edge.referee_supplier_id), else_=literal(_NO_REFEREE_HEX))
        kind = case(
            (linked, literal(f"{LINKED:02x}")),
            (edge.converted_at.is_not(None), literal(f"{CONVERTED:02x}")),
            else_=literal(f"{PENDING:02x}"),
        )
        blob = func.group_concat(edge.referrer_id.op("||")(referee).op("||")(kind), "")
    return select(blob).select_from(
        ReferralEdge.__table__.outerjoin(
            Supplier.__table__,
            and_(supplier.id == edge.referee_supplier_id, edge.converted_at.is_not(None)),
        )
    )


async def edge_records(session: AsyncSession) -> npt.NDArray[np.void]:
    """Every edge as a record of :data:`EDGE_RECORD`, in one query answering one value (no
    row, UUID or datetime object is built per edge: 95,000 edges read as 3 MB of bytes)."""
    dialect = session.get_bind().dialect.name
    statement = untyped(_edge_blob(dialect))
    blob = (await session.execute(statement)).scalar_one_or_none() or b""
    raw = bytes.fromhex(blob) if isinstance(blob, str) else bytes(blob)
    return np.frombuffer(raw, dtype=EDGE_RECORD)


METRICS_STAGING = StagingTable(
    "referral_metrics_new",
    {
        "supplier_id": ("uuid NOT NULL", "CHAR(32) NOT NULL"),
        "sent": ("integer NOT NULL", "INTEGER NOT NULL"),
        "converted": ("integer NOT NULL", "INTEGER NOT NULL"),
        "reach": ("integer NOT NULL", "INTEGER NOT NULL"),
        "in_degree": ("integer NOT NULL", "INTEGER NOT NULL"),
        "out_degree": ("integer NOT NULL", "INTEGER NOT NULL"),
        "pagerank": ("float8 NOT NULL", "FLOAT NOT NULL"),
        "core": ("integer NOT NULL", "INTEGER NOT NULL"),
        "super_connector": ("boolean NOT NULL", "BOOLEAN NOT NULL"),
    },
)
"""Where a compute's metrics land before one statement merges what changed."""

_FIGURES = [name for name in METRICS_STAGING.columns if name != "supplier_id"]
_STAGED = table(
    METRICS_STAGING.name, *(column(name, _METRICS.c[name].type) for name in METRICS_STAGING.columns)
)


def _merge_changed(session: AsyncSession) -> Any:
    """Insert the staged rows not stored yet and update those whose figures differ (in key
    order, so concurrent computes lock rows in one order); a row staged as it is stored is
    not written at all, its ``computed_at`` kept."""
    insert = dialect_insert(session, _METRICS)
    names = list(METRICS_STAGING.columns)
    source = (
        select(*(_STAGED.c[name] for name in names), bindparam("computed_at", type_=UTCDateTime()))
        .where(literal(True))  # SQLite: a SELECT before ON CONFLICT needs a WHERE
        .order_by(_STAGED.c.supplier_id)
    )
    changed = or_(*(_METRICS.c[name].is_distinct_from(insert.excluded[name]) for name in _FIGURES))
    return insert.from_select([*names, "computed_at"], source).on_conflict_do_update(
        index_elements=["supplier_id"],
        set_={name: insert.excluded[name] for name in [*_FIGURES, "computed_at"]},
        where=changed,
    )


async def write_metrics(
    session: AsyncSession, *, columns: Mapping[str, Sequence[Any]], computed_at: datetime
) -> int:
    """Make ``referral_metrics`` the rows given as ``columns`` (one value per supplier, the
    ids as 32 hex digits), writing only what differs: new rows inserted, changed ones
    updated (with ``computed_at``), rows of suppliers no longer in the network removed. In
    the caller's transaction, so a reader sees the old set or the new. Returns the rows
    written."""
    await stage(session, METRICS_STAGING, columns)
    merged = await session.execute(_merge_changed(session), {"computed_at": computed_at})
    # NOT IN, not NOT EXISTS: SQLite then builds the staged ids' index once rather than
    # scanning them for every stored row.
    removed = await session.execute(
        delete(_METRICS).where(_METRICS.c.supplier_id.not_in(select(_STAGED.c.supplier_id)))
    )
    return int(merged.rowcount) + int(removed.rowcount)  # type: ignore[attr-defined]


async def metrics_of(session: AsyncSession, supplier_id: uuid.UUID) -> ReferralMetric | None:
    return await session.get(ReferralMetric, supplier_id)


async def top(
    session: AsyncSession, *, limit: int, after: tuple[float, uuid.UUID] | None
) -> list[tuple[ReferralMetric, str]]:
    """The network's suppliers by PageRank, highest first (ties by id), with their names:
    a keyset page starting after ``after`` (the last row's (pagerank, id))."""
    m = ReferralMetric
    query = (
        select(m, Supplier.business_name)
        .join(Supplier, Supplier.id == m.supplier_id)
        .order_by(m.pagerank.desc(), m.supplier_id)
        .limit(limit)
    )
    if after is not None:
        rank, sid = after
        query = query.where(or_(m.pagerank < rank, and_(m.pagerank == rank, m.supplier_id > sid)))
    return [(metric, name) for metric, name in (await session.execute(query)).all()]


async def network_size(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(ReferralMetric)) or 0)


async def referees_of(
    session: AsyncSession, referrer_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, str, uuid.UUID | None, datetime | None, datetime | None, str | None]]:
    """The edges of ``referrer_ids``: (referrer, referee key, referee supplier, sent at,
    converted at, referee's business name when it is a supplier), converted first."""
    if not referrer_ids:
        return []
    edge = ReferralEdge
    rows = await session.execute(
        select(
            edge.referrer_id,
            edge.referee_key,
            edge.referee_supplier_id,
            edge.sent_at,
            edge.converted_at,
            Supplier.business_name,
        )
        .outerjoin(Supplier, Supplier.id == edge.referee_supplier_id)
        .where(edge.referrer_id.in_(list(referrer_ids)))
        .order_by(edge.referrer_id, edge.converted_at.is_(None), edge.referee_key)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]
