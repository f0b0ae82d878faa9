"""Every query of the referral network: edges kept from activity, metrics written and read."""

from __future__ import annotations

import typing
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    Uuid,
    and_,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity.models import ActivityEvent, new_events
from wedsync_success.activity.repository import of_types
from wedsync_success.db.bulk import upsert_columns
from wedsync_success.db.raw import untyped
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


async def edge_columns(session: AsyncSession) -> dict[str, list[Any]]:
    """Every edge as columns of the driver's own values (:func:`untyped`: UUID objects on
    PostgreSQL, 32 hex digits on SQLite; nothing converted a value at a time): ``referrer``,
    ``referee`` (None when no supplier is named), ``converted`` and ``known`` (the referee is
    a stored supplier: a conversion may name one not imported yet)."""
    edge = ReferralEdge
    statement = (
        select(
            edge.referrer_id,
            edge.referee_supplier_id,
            edge.converted_at.is_not(None).label("converted"),
            Supplier.id.is_not(None).label("known"),
        )
        .select_from(edge)
        .outerjoin(Supplier, Supplier.id == edge.referee_supplier_id)
    )
    rows = (await session.execute(untyped(typing.cast("Select[Any]", statement)))).all()
    columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[], [], [], []]
    return dict(zip(("referrer", "referee", "converted", "known"), columns, strict=True))


async def replace_metrics(
    session: AsyncSession, *, columns: Mapping[str, Sequence[Any]], computed_at: datetime
) -> None:
    """The network's metrics, whole: every stored row replaced by ``columns`` (one value per
    supplier), in the caller's transaction, so a reader sees the old set or the new."""
    await session.execute(delete(ReferralMetric))
    await upsert_columns(
        session,
        _METRICS,
        key=("supplier_id",),
        columns=columns,
        constants={"computed_at": computed_at},
    )


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
