"""Every query of the suppliers domain."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVarTuple, cast

from sqlalchemy import (
    Row,
    Select,
    String,
    Table,
    Uuid,
    and_,
    any_,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from wedsync_success.churn.models import SupplierChurnCurrent
from wedsync_success.db.bulk import Keeping, upsert_columns
from wedsync_success.db.plain_writes import insert_new, update_columns
from wedsync_success.db.staging import StagingTable, stage
from wedsync_success.db.types import UTCDateTime
from wedsync_success.health.models import HealthScore
from wedsync_success.suppliers.models import (
    SubscriptionPeriod,
    SubscriptionStatus,
    Supplier,
    SupplierNameWord,
    SupplierUser,
)
from wedsync_success.suppliers.names import after_prefix, searched_name
from wedsync_success.suppliers.periods import Period
from wedsync_success.suppliers.schemas import SUPPLIER_FIELDS
from wedsync_success.suppliers.subscriptions import active_at

SupplierSort = Literal[
    "score", "-score", "change_7d", "name", "priority", "-churn_probability", "churn_probability"
]
"""How a supplier listing can be sorted (the keys of :data:`SORTS`)."""

SORTS: dict[str, tuple[Any, bool]] = {
    "score": (HealthScore.score, False),
    "-score": (HealthScore.score, True),
    "change_7d": (HealthScore.change_7d, False),
    "name": (Supplier.business_name, False),
    "priority": (SupplierChurnCurrent.expected_mrr_loss_minor, True),
    "-churn_probability": (SupplierChurnCurrent.probability, True),
    "churn_probability": (SupplierChurnCurrent.probability, False),
}
"""Sort keys for listing: column and whether descending; ``id`` always breaks ties.

``priority`` is expected MRR lost (churn probability x MRR in the reporting currency),
largest first; it and the churn probability sorts list only suppliers with a current churn
prediction (``supplier_churn_current``), priority only those whose currency has a rate."""

_SUPPLIERS = cast(Table, Supplier.__table__)
_USERS = cast(Table, SupplierUser.__table__)
_WORDS = cast(Table, SupplierNameWord.__table__)
_PERIODS = cast(Table, SubscriptionPeriod.__table__)


@dataclass(frozen=True)
class SupplierFilters:
    risk_level: str | None = None
    vendor_type: str | None = None
    plan_tier: str | None = None
    status: str | None = None
    current_only: bool = False
    """Only current customers (any status but cancelled)."""
    score_min: float | None = None
    score_max: float | None = None
    churn_band: str | None = None
    """The churn model's band of the current prediction (low, medium, high)."""
    churn_min: float | None = None
    churn_max: float | None = None
    """Bounds (0-1, inclusive) of the current churn probability."""
    owner_id: uuid.UUID | None = None
    """Only accounts owned by this team member."""
    unowned: bool = False
    """Only accounts nobody owns."""

    @property
    def on_churn(self) -> bool:
        """Whether a filter needs a current churn prediction."""
        return (
            self.churn_band is not None or self.churn_min is not None or self.churn_max is not None
        )


async def existing_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    if not ids:
        return set()
    return set(await session.scalars(select(Supplier.id).where(Supplier.id.in_(ids))))


async def id_for_ref(
    session: AsyncSession, *, as_id: uuid.UUID | None, external_id: str
) -> uuid.UUID | None:
    """The supplier with id ``as_id``, else the one with ``external_id`` (one query)."""
    s = Supplier
    match = (
        s.external_id == external_id
        if as_id is None
        else or_(s.id == as_id, s.external_id == external_id)
    )
    found = list(await session.scalars(select(s.id).where(match)))
    return as_id if as_id in found else next(iter(found), None)


async def supplier_for_ref(
    session: AsyncSession, *, as_id: uuid.UUID | None, external_id: str
) -> Supplier | None:
    """The supplier row with id ``as_id``, else the one with ``external_id`` (one query)."""
    s = Supplier
    match = (
        s.external_id == external_id
        if as_id is None
        else or_(s.id == as_id, s.external_id == external_id)
    )
    found = list(await session.scalars(select(s).where(match)))
    return next((r for r in found if r.id == as_id), None) or next(iter(found), None)


def _among(connection: AsyncConnection, column: Any, values: list[Any]) -> Any:
    """``column IN values``; on PostgreSQL ``column = ANY(array)``, one parameter: the same
    statement for any number of values, prepared once, where an IN of a batch's 5,000
    values is a new 5,000-parameter statement to parse and plan at every batch size."""
    if connection.dialect.name != "postgresql":
        return column.in_(values)
    return column == any_(bindparam(None, values, type_=ARRAY(column.type)))


@dataclass(frozen=True)
class StoredSupplier:
    """A supplier as an import finds it: its id and fields (as ``SupplierIn`` takes them,
    those that are not NULL)."""

    id: uuid.UUID
    fields: dict[str, Any]

    def changes(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The fields writing ``row`` (a supplier row by field name) would change, with their
        new values (empty: it would change nothing)."""
        return {name: row[name] for name in SUPPLIER_FIELDS if self.fields.get(name) != row[name]}


async def stored_by_external_id(
    session: AsyncSession, external_ids: Sequence[str]
) -> dict[str, StoredSupplier]:
    """The suppliers ``external_ids`` name, by external id, for those that exist (one
    query)."""
    if not external_ids:
        return {}
    columns = [_SUPPLIERS.c[name] for name in SUPPLIER_FIELDS]
    # On the connection, past the ORM: its per-row work doubled this read of 5,000 rows.
    connection = await session.connection()
    rows = await connection.execute(
        select(_SUPPLIERS.c.external_id, _SUPPLIERS.c.id, *columns).where(
            _among(connection, _SUPPLIERS.c.external_id, sorted(set(external_ids)))
        )
    )
    return {
        row[0]: StoredSupplier(
            id=row[1],
            fields={k: v for k, v in zip(SUPPLIER_FIELDS, row[2:], strict=True) if v is not None},
        )
        for row in rows
    }


async def ids_by_external_id(
    session: AsyncSession, external_ids: Sequence[str]
) -> dict[str, uuid.UUID]:
    """The supplier each of ``external_ids`` names, for those that name one (one query)."""
    if not external_ids:
        return {}
    rows = await session.execute(
        select(Supplier.external_id, Supplier.id).where(
            Supplier.external_id.in_(sorted(set(external_ids)))
        )
    )
    return {ext: sid for ext, sid in rows if ext is not None}


async def user_owners(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """The supplier of each of ``user_ids`` that exists."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(SupplierUser.id, SupplierUser.supplier_id).where(SupplierUser.id.in_(user_ids))
    )
    return {user_id: supplier_id for user_id, supplier_id in rows}


async def upsert(
    session: AsyncSession,
    suppliers: list[dict[str, Any]],
    users: list[dict[str, Any]],
    *,
    updates: Sequence[dict[str, Any]] = (),
    users_of: Sequence[uuid.UUID],
    names: Mapping[uuid.UUID, str],
    created_at: datetime,
) -> None:
    """Create or update suppliers by id, making the user lists of ``users_of`` exactly
    ``users`` (rows in id order, so concurrent writers lock them in one order); the other
    suppliers' users are left as they are. ``names``: the stored business names of those
    of ``suppliers`` that exist (:func:`names_of`), whose search words change only with them.
    ``updates``: stored suppliers' ``id`` and only the fields that change, written as such
    (an UPDATE of those columns rewrites no index of the others).

    Users are updated in place, not deleted and re-added, so what hangs off a user (contact
    preferences, in-app messages) survives an update of its supplier.
    """
    # A supplier not in ``names`` is new: created here under the locks of its ids, so its
    # rows, its users' and its words can only be new too, and are simply inserted.
    ordered = sorted(suppliers, key=lambda row: row["id"])
    new = [row for row in ordered if row["id"] not in names]
    if new:
        new_users = [u for u in users if u["supplier_id"] not in names]
        await insert_created(
            session,
            _columns(new),
            _columns(new_users) if new_users else {},
            created_at=created_at,
        )
    changed = [row for row in ordered if row["id"] in names]
    if changed:
        await _upsert_suppliers(session, changed, names, created_at=created_at)
    if updates:
        await _update_suppliers(session, sorted(updates, key=lambda row: row["id"]), names)
    stored_users_of = [sid for sid in users_of if sid in names]  # a new supplier has none
    if stored_users_of:
        await session.execute(
            delete(SupplierUser).where(
                SupplierUser.supplier_id.in_(stored_users_of),
                SupplierUser.id.not_in([u["id"] for u in users]),
            )
        )
    stored_users = [u for u in users if u["supplier_id"] in names]
    if stored_users:
        await upsert_columns(
            session,
            _USERS,
            key=("id",),
            columns=_columns(stored_users),
            constants={"created_at": created_at},  # converted once, not once a row
            keeping=Keeping(kept=("supplier_id", "created_at")),
        )


async def insert_created(
    session: AsyncSession,
    suppliers: Mapping[str, Sequence[Any]],
    users: Mapping[str, Sequence[Any]],
    *,
    created_at: datetime,
) -> None:
    """Insert suppliers that cannot exist yet (fresh ids, external ids locked and not
    stored), with their search words and ``users`` (columns; empty: none): ``suppliers``
    holds ``id``, ``external_id`` and every field of ``SUPPLIER_FIELDS``, ``users`` the
    user columns but ``created_at``."""
    await insert_new(session, _SUPPLIERS, suppliers, constants={"created_at": created_at})
    await insert_new(session, _WORDS, _word_columns(suppliers["id"], suppliers["business_name"]))
    if users:
        await insert_new(session, _USERS, users, constants={"created_at": created_at})


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """``rows`` (dicts with the same keys) as one list of values per column."""
    return {name: [row[name] for row in rows] for name in rows[0]}


async def _upsert_suppliers(
    session: AsyncSession,
    suppliers: list[dict[str, Any]],
    names: Mapping[uuid.UUID, str],
    *,
    created_at: datetime,
) -> None:
    # Column-wise through the driver (db.bulk): the ORM's executemany converted every value
    # of every row in Python, more than a second for an import of 20,000 suppliers.
    await upsert_columns(
        session,
        _SUPPLIERS,
        key=("id",),
        columns=_columns(suppliers),
        constants={"created_at": created_at},
        # An update that omits the external id (None) keeps the one the supplier has.
        keeping=Keeping(kept=("created_at",), filled=("external_id",)),
    )
    # A name's words change only with the name: most updates (plan, MRR, users) keep them.
    await replace_name_words(
        session, [s for s in suppliers if names.get(s["id"]) != s["business_name"]]
    )


async def _update_suppliers(
    session: AsyncSession, updates: list[dict[str, Any]], names: Mapping[uuid.UUID, str]
) -> None:
    """Write ``updates`` (in id order: the rows' lock order) to stored suppliers, one
    statement per set of changed columns (an import changing one field: one statement)."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in updates:
        shapes.setdefault(tuple(row), []).append(row)
    for rows in shapes.values():
        await update_columns(session, _SUPPLIERS, key="id", columns=_columns(rows))
    renamed = [
        r for r in updates if "business_name" in r and names.get(r["id"]) != r["business_name"]
    ]
    await replace_name_words(session, renamed)


@dataclass(frozen=True)
class StoredUser:
    """A supplier's user as stored."""

    id: uuid.UUID
    supplier_id: uuid.UUID
    email: str
    name: str
    role: str
    phone: str | None


async def stored_users(
    session: AsyncSession, supplier_ids: Sequence[uuid.UUID]
) -> list[StoredUser]:
    """The users of ``supplier_ids`` as stored (one query)."""
    if not supplier_ids:
        return []
    u = _USERS.c
    connection = await session.connection()  # past the ORM, as stored_by_external_id
    rows = await connection.execute(
        select(u.id, u.supplier_id, u.email, u.name, u.role, u.phone).where(
            _among(connection, u.supplier_id, list(supplier_ids))
        )
    )
    return [StoredUser(*row) for row in rows]


async def get(session: AsyncSession, supplier_id: uuid.UUID) -> Supplier | None:
    return await session.get(Supplier, supplier_id)


async def users_of(session: AsyncSession, supplier_id: uuid.UUID) -> Sequence[SupplierUser]:
    rows = await session.scalars(
        select(SupplierUser)
        .where(SupplierUser.supplier_id == supplier_id)
        .order_by(SupplierUser.created_at, SupplierUser.id)
    )
    return rows.all()


async def page(
    session: AsyncSession,
    filters: SupplierFilters,
    *,
    sort: str,
    after: list[Any] | None,
    limit: int,
) -> Sequence[Row[Supplier, HealthScore, SupplierChurnCurrent | None]]:
    """One page of scored suppliers with their current churn prediction (if any), by keyset
    on (sort column, id)."""
    column, descending = SORTS[sort]
    churn = SupplierChurnCurrent
    # Ties break on the sorted table's supplier_id (equal to suppliers.id through the joins)
    # so its (column, supplier_id) index serves the ORDER BY and a page never sorts the
    # whole table.
    tiebreak = {churn: churn.supplier_id, Supplier: Supplier.id}.get(
        column.class_, HealthScore.supplier_id
    )
    conditions = listing_conditions(filters, sort=sort)
    if after is not None:
        last_value, last_id = after[0], uuid.UUID(str(after[1]))
        if descending:
            conditions.append(
                or_(column < last_value, and_(column == last_value, tiebreak > last_id))
            )
            # The same rows, as a range an index can start from (SQLite cannot from the OR).
            conditions.append(column <= last_value)
        else:
            conditions.append(tuple_(column, tiebreak) > tuple_(last_value, last_id))
    order = (column.desc() if descending else column.asc(), tiebreak.asc())
    query = _listed(select(Supplier, HealthScore, churn), filters, inner=column.class_ is churn)
    rows = await session.execute(query.where(*conditions).order_by(*order).limit(limit))
    return rows.all()


def listing_conditions(filters: SupplierFilters, *, sort: str | None) -> list[Any]:
    """The WHERE of a listing: its filters and, given a ``sort``, what that order needs
    (a churn prediction, a priced one, a 7-day change)."""
    churn = SupplierChurnCurrent
    conditions: list[Any] = []
    if filters.risk_level:
        conditions.append(HealthScore.risk_level == filters.risk_level)
    if filters.vendor_type:
        conditions.append(Supplier.vendor_type == filters.vendor_type)
    if filters.plan_tier:
        conditions.append(Supplier.plan_tier == filters.plan_tier)
    if filters.status:
        conditions.append(Supplier.subscription_status == filters.status)
    if filters.current_only:
        conditions.append(Supplier.subscription_status != SubscriptionStatus.CANCELLED)
    if filters.score_min is not None:
        conditions.append(HealthScore.score >= filters.score_min)
    if filters.score_max is not None:
        conditions.append(HealthScore.score <= filters.score_max)
    if filters.owner_id is not None:
        conditions.append(Supplier.account_owner_id == filters.owner_id)
    if filters.unowned:
        conditions.append(Supplier.account_owner_id.is_(None))
    if filters.churn_band:
        conditions.append(churn.risk_band == filters.churn_band)
    # Sorted by priority, the priority index must drive the query (it stops after one page)
    # and test the probability it carries; a range on the bare column would let SQLite pick
    # the probability index instead and sort the whole range.
    probability = churn.probability + 0.0 if sort == "priority" else churn.probability
    if filters.churn_min is not None:
        conditions.append(probability >= filters.churn_min)
    if filters.churn_max is not None:
        conditions.append(probability <= filters.churn_max)
    if sort == "change_7d":
        conditions.append(HealthScore.change_7d.is_not(None))
    if sort == "priority":
        conditions.append(churn.expected_mrr_loss_minor.is_not(None))
    return conditions


Columns = TypeVarTuple("Columns")


def _listed(query: Select[*Columns], filters: SupplierFilters, *, inner: bool) -> Select[*Columns]:
    """``query`` over scored suppliers and their current churn prediction (joined inner when
    the order or a filter needs one)."""
    churn = SupplierChurnCurrent
    query = query.select_from(Supplier).join(HealthScore, HealthScore.supplier_id == Supplier.id)
    on_churn = churn.supplier_id == Supplier.id
    if inner or filters.on_churn:
        return query.join(churn, on_churn)
    return query.outerjoin(churn, on_churn)


@dataclass(frozen=True)
class Matching:
    """How many suppliers a listing's filters match, and how many of them its order lists
    (the churn orders need a prediction, priority a priced one). Past a cap the count stops:
    ``exact`` is then false and ``total`` is the cap."""

    total: int
    in_order: int
    exact: bool = True


async def count_matching(
    session: AsyncSession, filters: SupplierFilters, *, sort: str, cap: int | None
) -> Matching:
    """:class:`Matching` for a listing in one scan, stopping after ``cap`` rows (``None``:
    count them all). ``count(column)`` skips exactly the rows whose sort column is null,
    which are the rows the order leaves out."""
    column = SORTS[sort][0]
    rows = _listed(select(column.label("ordered")), filters, inner=False).where(
        *listing_conditions(filters, sort=None)
    )
    if cap is not None:
        rows = rows.limit(cap + 1)
    counted = rows.subquery()
    total, in_order = (
        await session.execute(select(func.count(), func.count(counted.c.ordered)))
    ).one()
    if cap is not None and total > cap:
        return Matching(total=cap, in_order=0, exact=False)
    return Matching(total=int(total), in_order=int(in_order))


async def unpriced(session: AsyncSession, *, current_only: bool) -> dict[str, int]:
    """Suppliers with a current churn prediction left out of the priority order because
    their currency has no configured rate, by currency (an index range: they are few)."""
    churn = SupplierChurnCurrent
    query = (
        select(Supplier.currency, func.count())
        .select_from(churn)
        .join(Supplier, Supplier.id == churn.supplier_id)
        .where(churn.expected_mrr_loss_minor.is_(None))
        .group_by(Supplier.currency)
    )
    if current_only:
        query = query.where(Supplier.subscription_status != SubscriptionStatus.CANCELLED)
    return {currency: int(n) for currency, n in await session.execute(query)}


async def count(session: AsyncSession) -> int:
    """How many suppliers are registered."""
    return int(await session.scalar(select(func.count()).select_from(Supplier)) or 0)


async def by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Supplier]:
    """The suppliers of ``ids`` that exist, by id (one query)."""
    if not ids:
        return {}
    rows = await session.scalars(select(Supplier).where(Supplier.id.in_(list(ids))))
    return {s.id: s for s in rows}


async def signed_up_between(
    session: AsyncSession, *, start: datetime, end: datetime, active_now: datetime
) -> list[uuid.UUID]:
    """Suppliers who signed up in ``[start, end)`` and are customers at ``active_now``."""
    rows = await session.scalars(
        select(Supplier.id)
        .where(
            Supplier.signed_up_at >= start,
            Supplier.signed_up_at < end,
            active_at(active_now),
        )
        .order_by(Supplier.id)
    )
    return list(rows)


async def primary_contacts(
    session: AsyncSession, supplier_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, SupplierUser]:
    """Each supplier's main contact: its owner-role user, else its earliest user."""
    if not supplier_ids:
        return {}
    rows = await session.scalars(
        select(SupplierUser)
        .where(SupplierUser.supplier_id.in_(list(supplier_ids)))
        .order_by(
            SupplierUser.supplier_id,
            (SupplierUser.role != "owner"),
            SupplierUser.created_at,
            SupplierUser.id,
        )
    )
    contacts: dict[uuid.UUID, SupplierUser] = {}
    for user in rows:
        contacts.setdefault(user.supplier_id, user)
    return contacts


async def set_owner(
    session: AsyncSession, supplier_ids: Sequence[uuid.UUID], owner_id: uuid.UUID | None
) -> None:
    """Give the accounts of ``supplier_ids`` to ``owner_id`` (or to nobody)."""
    await session.execute(
        update(Supplier).where(Supplier.id.in_(supplier_ids)).values(account_owner_id=owner_id)
    )


async def owners_of(
    session: AsyncSession, supplier_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID | None]:
    """The owner (or None) of each of ``supplier_ids`` that exists."""
    rows = await session.execute(
        select(Supplier.id, Supplier.account_owner_id).where(Supplier.id.in_(supplier_ids))
    )
    return {sid: owner for sid, owner in rows}


async def all_ids(session: AsyncSession) -> list[uuid.UUID]:
    """Every supplier's id (for seeding and tools, not for request paths)."""
    return list(await session.scalars(select(Supplier.id)))


async def replace_name_words(session: AsyncSession, suppliers: Sequence[dict[str, Any]]) -> None:
    """Make the search words of stored ``suppliers`` (rows with ``id`` and ``business_name``,
    in id order) exactly those of their names (a new supplier's are inserted with it)."""
    if not suppliers:
        return
    words = SupplierNameWord
    await session.execute(delete(words).where(words.supplier_id.in_([s["id"] for s in suppliers])))
    # Column-wise through the driver (db.bulk): four or five rows a supplier, 80,000 for an
    # import of 20,000, where the ORM's executemany took 1.6 s.
    await upsert_columns(
        session,
        _WORDS,
        key=("supplier_id", "word"),
        columns=_word_columns(
            [s["id"] for s in suppliers], [s["business_name"] for s in suppliers]
        ),
        skip_existing=True,
    )


def _word_columns(ids: Sequence[uuid.UUID], names: Sequence[str]) -> dict[str, list[Any]]:
    """The search-word rows of the suppliers ``ids`` named ``names``, as columns."""
    supplier_ids: list[Any] = []
    found: list[str] = []
    keys: list[str] = []
    first: list[bool] = []
    for sid, name in zip(ids, names, strict=True):
        searched = searched_name(name)
        for word in sorted(searched.words):
            supplier_ids.append(sid)
            found.append(word)
            keys.append(searched.key)
            first.append(word == searched.first)
    return {"supplier_id": supplier_ids, "word": found, "name_key": keys, "first": first}


DRIVE_CAP = 1_000
"""A query word matching fewer name words than this drives the search through its index
range (sorting at most this many rows); when every word matches more, the suppliers are
scanned in name order instead, which finds the first matches early."""
SCAN_CAP = 2_000
"""Names scanned in order at most before the search falls back to the word range."""


def _prefix(column: Any, prefix: str) -> Any:
    return and_(column >= prefix, column < after_prefix(prefix))


def _has_word(row: Any, prefix: str) -> Any:
    """``row``'s supplier has a name word starting with ``prefix`` (an index probe: OFFSET 0
    keeps PostgreSQL from turning it into a join over the prefix's whole range)."""
    probe = SupplierNameWord.__table__.alias()
    return (
        select(probe.c.supplier_id)
        .where(probe.c.supplier_id == row.c.supplier_id, _prefix(probe.c.word, prefix))
        .offset(0)
        .exists()
    )


def name_prefix_matches(query_key: str, limit: int) -> Select[uuid.UUID, str]:
    """The first ``limit`` (supplier id, name key) whose folded name starts with
    ``query_key``, by name: one range over the partial first-word index."""
    first = SupplierNameWord.__table__.alias("first")
    return (
        select(first.c.supplier_id, first.c.name_key)
        .where(first.c.first.is_(True), _prefix(first.c.name_key, query_key))
        .order_by(first.c.name_key, first.c.supplier_id)
        .limit(limit)
    )


async def search(
    session: AsyncSession, *, query_words: Sequence[str], query_key: str, limit: int
) -> Sequence[Row[uuid.UUID, str, str, float | None, str | None]]:
    """Suppliers with a name word starting with each of ``query_words`` (folded, distinct):
    those whose folded name starts with ``query_key`` first, then the rest, each by folded
    name; as (id, business name, vendor type, health score, risk level).

    Name-prefix matches are one index range over the first words' (name_key) (a partial
    index: its ``first IS`` condition is the one ``first.is_(True)`` renders, or SQLite
    would not use it). The rest come from the
    query word with the fewest matches when it has few (its range over (word, name_key),
    the other words probed on (supplier_id, word)), else from the names in order, probing
    every word, which stops at the first ``limit`` matches.
    """
    rows = list(await session.execute(name_prefix_matches(query_key, limit)))
    if len(rows) < limit:
        rows += await _others(session, query_words, query_key, limit - len(rows))
    order = {sid: n for n, (sid, _) in enumerate(rows)}
    found = await session.execute(
        select(
            Supplier.id,
            Supplier.business_name,
            Supplier.vendor_type,
            HealthScore.score,
            HealthScore.risk_level,
        )
        .outerjoin(HealthScore, HealthScore.supplier_id == Supplier.id)
        .where(Supplier.id.in_(list(order)))
    )
    return sorted(found.all(), key=lambda row: order[row[0]])


async def _others(
    session: AsyncSession, query_words: Sequence[str], query_key: str, limit: int
) -> list[Row[uuid.UUID, str]]:
    """The first ``limit`` matches by name whose name does not start with ``query_key``."""
    words = SupplierNameWord.__table__
    counts = await _counts(session, query_words)
    driver = min(query_words, key=lambda w: (counts[w], -len(w), w))
    if counts[driver] >= DRIVE_CAP:
        names = words.alias("names")
        in_order = names.c.first.is_(True), ~_prefix(names.c.name_key, query_key)
        bound = await session.scalar(  # the SCAN_CAP-th name: scan no further
            select(names.c.name_key)
            .where(*in_order)
            .order_by(names.c.name_key)
            .offset(SCAN_CAP)
            .limit(1)
        )
        scan = select(names.c.supplier_id, names.c.name_key).where(
            *in_order, *(_has_word(names, w) for w in query_words)
        )
        if bound is not None:
            scan = scan.where(names.c.name_key <= bound)
        rows = list(
            await session.execute(scan.order_by(names.c.name_key, names.c.supplier_id).limit(limit))
        )
        if len(rows) == limit or bound is None:
            return rows
    drive = words.alias("drive")
    matches = (
        select(drive.c.supplier_id, drive.c.name_key)
        .where(
            _prefix(drive.c.word, driver),
            ~_prefix(drive.c.name_key, query_key),
            *(_has_word(drive, w) for w in query_words if w != driver),
        )
        .distinct()
        .order_by(drive.c.name_key, drive.c.supplier_id)
        .limit(limit)
    )
    return list(await session.execute(matches))


async def _counts(session: AsyncSession, query_words: Sequence[str]) -> dict[str, int]:
    """Name words starting with each of ``query_words``, counted up to :data:`DRIVE_CAP`
    (one statement)."""
    words = SupplierNameWord
    counts = [
        select(func.count())
        .select_from(select(words.word).where(_prefix(words.word, w)).limit(DRIVE_CAP).subquery())
        .scalar_subquery()
        for w in query_words
    ]
    row = (await session.execute(select(*counts))).one()
    return dict(zip(query_words, row, strict=True))


async def names_of(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The business names of the suppliers of ``ids`` that exist (one query)."""
    if not ids:
        return {}
    rows = await session.execute(
        select(Supplier.id, Supplier.business_name).where(Supplier.id.in_(list(set(ids))))
    )
    return {sid: name for sid, name in rows}


@dataclass(frozen=True)
class History:
    """Suppliers' statuses and their stored periods (by id), as the history writers read them."""

    statuses: dict[uuid.UUID, str]
    periods: dict[uuid.UUID, list[tuple[int, Period]]]


async def history_of(session: AsyncSession, supplier_ids: Sequence[uuid.UUID]) -> History:
    """The status and every subscription period of the suppliers of ``supplier_ids`` that
    exist, oldest period first (one query: the suppliers joined to their periods)."""
    found = History(statuses={}, periods={})
    if not supplier_ids:
        return found
    s, p = Supplier, SubscriptionPeriod
    rows = await session.execute(
        select(
            s.id,
            s.subscription_status,
            p.id,
            p.plan,
            p.starts_at,
            p.ends_at,
            p.mrr_minor,
            p.discount_minor,
            p.currency,
        )
        .outerjoin(p, p.supplier_id == s.id)
        .where(s.id.in_(sorted(set(supplier_ids))))
        .order_by(s.id, p.starts_at, p.id)
    )
    for sid, status, pid, plan, starts, ends, mrr, discount, currency in rows:
        found.statuses[sid] = status
        mine = found.periods.setdefault(sid, [])
        if pid is not None:
            mine.append((pid, Period(plan, starts, ends, mrr, discount, currency)))
    return found


async def upsert_periods(session: AsyncSession, columns: dict[str, list[Any]]) -> None:
    """Insert periods, or update the one with the same supplier, plan and start."""
    await upsert_columns(
        session,
        _PERIODS,
        key=("supplier_id", "plan", "starts_at"),
        columns=columns,
        keeping=Keeping(kept=("created_at",)),
    )


PERIOD_STAGING = StagingTable(
    "subscription_periods_staging",
    {
        "idx": ("integer NOT NULL", "INTEGER NOT NULL"),
        "supplier_id": ("uuid NOT NULL", "CHAR(32) NOT NULL"),
        "plan": ("varchar(32) NOT NULL", "VARCHAR(32) NOT NULL"),
        "starts_at": ("timestamptz NOT NULL", "TEXT NOT NULL"),
        "ends_at": ("timestamptz", "TEXT"),
        "mrr_minor": ("bigint NOT NULL", "BIGINT NOT NULL"),
        "currency": ("varchar(3) NOT NULL", "VARCHAR(3) NOT NULL"),
        "quantity": ("integer NOT NULL", "INTEGER NOT NULL"),
        "discount_minor": ("bigint NOT NULL", "BIGINT NOT NULL"),
        "bill_period_months": ("integer NOT NULL", "INTEGER NOT NULL"),
    },
    index=("supplier_id", "plan", "starts_at"),
)
STAGED_PERIOD_COLUMNS = tuple(PERIOD_STAGING.columns)
"""The columns :func:`stage_periods` takes: ``idx`` is the item's place in its batch."""
_STORED_COLUMNS = STAGED_PERIOD_COLUMNS[1:]
_PERIOD_STAGED = PERIOD_STAGING.name
_NEVER = datetime(9999, 12, 31, tzinfo=UTC)
"""The end of an open period, in comparisons."""


def _instants(statement: str, *names: str) -> Any:
    """``statement`` with its instants bound as stored (text on SQLite, timestamptz)."""
    return text(statement).bindparams(*(bindparam(n, type_=UTCDateTime()) for n in names))


async def stage_periods(session: AsyncSession, columns: Mapping[str, Sequence[Any]]) -> None:
    """Put a batch of periods (one value per row for each of :data:`STAGED_PERIOD_COLUMNS`)
    in the staging table (``db/staging.py``), where the checks and the merge below read
    them set-based."""
    await stage(session, PERIOD_STAGING, columns, stored_as=_PERIODS)


async def period_supplier_ids(
    session: AsyncSession, external_ids: Collection[str]
) -> dict[str, uuid.UUID]:
    """The supplier each of ``external_ids`` names, for those that name one: one bound value
    whatever their number (an array on PostgreSQL, a JSON list on SQLite), so a batch of
    thousands of ids is neither rendered into the statement nor re-planned per length."""
    if not external_ids:
        return {}
    listed = sorted(set(external_ids))
    s = Supplier
    if session.get_bind().dialect.name == "postgresql":
        match = s.external_id == any_(bindparam("ext", listed, type_=ARRAY(String)))
    else:
        each = text("SELECT value FROM json_each(:ext)").bindparams(ext=json.dumps(listed))
        match = s.external_id.in_(each)
    rows = await session.execute(select(s.external_id, s.id).where(match))
    return {ext: sid for ext, sid in rows if ext is not None}


_CHECKS = _instants(
    # Two staged periods of one supplier and plan sharing an instant (the same start too:
    # one period twice), and staged periods sharing one with a stored period of a different
    # start (the same start is that period imported again): the pairs that can refuse. Last,
    # one row (-1, n): n staged periods have a stored one of the same supplier, plan and start.
    # The stored side is scalar subqueries: both backends then probe the stored periods' key
    # per staged period, where a join could be planned as a scan of every stored period.
    f"SELECT a.idx, b.idx FROM {_PERIOD_STAGED} a JOIN {_PERIOD_STAGED} b "
    "ON b.supplier_id = a.supplier_id AND b.plan = a.plan AND b.idx > a.idx "
    "AND b.starts_at < COALESCE(a.ends_at, :never) AND a.starts_at < COALESCE(b.ends_at, :never) "
    f"UNION ALL SELECT a.idx, a.idx FROM {_PERIOD_STAGED} a WHERE (SELECT p.id "
    "FROM subscription_periods p WHERE p.supplier_id = a.supplier_id AND p.plan = a.plan "
    "AND p.starts_at <> a.starts_at AND p.starts_at < COALESCE(a.ends_at, :never) "
    "AND a.starts_at < COALESCE(p.ends_at, :never) LIMIT 1) IS NOT NULL "
    f"UNION ALL SELECT -1, count(*) FROM {_PERIOD_STAGED} a WHERE (SELECT p.id "
    "FROM subscription_periods p WHERE p.supplier_id = a.supplier_id "
    "AND p.plan = a.plan AND p.starts_at = a.starts_at) IS NOT NULL",
    "never",
)


@dataclass(frozen=True)
class StagedChecks:
    """What the stored history says of a staged batch (:func:`check_staged`)."""

    clashing: set[int]
    """The items (by ``idx``) sharing an instant with another period of their supplier and
    plan, staged or stored: only these can be refused as overlapping, only by each other."""
    already_stored: int
    """Staged periods whose supplier, plan and start are stored already."""


async def check_staged(session: AsyncSession) -> StagedChecks:
    """The clashes and the periods stored already of the staged batch (one query, an index
    probe or two per staged period)."""
    clashing: set[int] = set()
    stored = 0
    for first, second in await session.execute(_CHECKS, {"never": _NEVER}):
        if first < 0:
            stored = int(second)
        else:
            clashing.update((first, second))
    return StagedChecks(clashing=clashing, already_stored=stored)


async def unstage_periods(session: AsyncSession, indexes: Sequence[int]) -> None:
    if indexes:
        await session.execute(
            text(f"DELETE FROM {_PERIOD_STAGED} WHERE idx IN :idx").bindparams(
                bindparam("idx", expanding=True)
            ),
            {"idx": sorted(indexes)},
        )


_UPDATED = _STORED_COLUMNS[3:]
"""What an import of a stored period can change (the rest is its key)."""
_MERGE_STAGED = _instants(
    # The staged periods that are new or say something else than the stored one of their
    # key (a scalar subquery probing the key, as above), in key order; the others are left
    # alone, so a file imported again writes no row. Their suppliers are locked, so nothing
    # can change the stored rows between the probe and the upsert. WHERE: SQLite also needs
    # one to tell ON CONFLICT from a join's ON.
    f"INSERT INTO subscription_periods ({', '.join(_STORED_COLUMNS)}, created_at) "
    f"SELECT {', '.join(_STORED_COLUMNS)}, :now FROM {_PERIOD_STAGED} a "
    "WHERE (SELECT p.id FROM subscription_periods p WHERE p.supplier_id = a.supplier_id "
    "AND p.plan = a.plan AND p.starts_at = a.starts_at "
    "AND COALESCE(p.ends_at, :never) = COALESCE(a.ends_at, :never) AND "
    + " AND ".join(f"p.{c} = a.{c}" for c in _UPDATED[1:])
    + ") IS NULL ORDER BY supplier_id, plan, starts_at "
    "ON CONFLICT (supplier_id, plan, starts_at) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _UPDATED)
    + " RETURNING supplier_id",
    "now",
    "never",
).columns(supplier_id=Uuid)


async def merge_staged_periods(session: AsyncSession, *, now: datetime) -> set[uuid.UUID]:
    """Insert the staged periods, or update the stored one of the same supplier, plan and
    start (keeping its ``created_at``) where they differ, in key order (see ``db/locks.py``);
    returns the suppliers whose stored history changed."""
    return set(await session.scalars(_MERGE_STAGED, {"now": now, "never": _NEVER}))


_DERIVED = ("subscription_status", "plan_tier", "mrr_minor", "currency", "subscription_started_at")
_BEGUN = (
    # The periods of a supplier begun by :at, ``covers`` those covering it.
    "SELECT p.id, p.supplier_id, p.plan, p.currency, p.starts_at, p.ends_at,"
    " p.mrr_minor - p.discount_minor AS net,"
    " CASE WHEN p.ends_at IS NULL OR p.ends_at > :at THEN 1 ELSE 0 END AS covers"
    " FROM subscription_periods p WHERE p.starts_at <= :at AND "
)
_PICK_ORDER = (
    # The period naming the plan: a covering one first, the largest; else the latest to end.
    " ORDER BY q.covers DESC, CASE WHEN q.covers = 1 THEN q.net END DESC,"
    " CASE WHEN q.covers = 1 THEN q.plan END DESC, COALESCE(q.ends_at, :never) DESC,"
    " q.starts_at DESC, q.net DESC, q.plan DESC LIMIT 1"
)
_STATUS = (
    # Kept while covered when trialing or past due (the supplier row's own status).
    "CASE WHEN d.covering IS NULL THEN 'cancelled'"
    " WHEN suppliers.subscription_status IN ('trialing', 'past_due')"
    " THEN suppliers.subscription_status ELSE 'active' END"
)
_STARTED = (
    # When the unbroken coverage began: the supplier's last coverage stretch begun by :at
    # (``suppliers/coverage.py``, refreshed before this runs).
    "(SELECT MAX(c.starts_at) FROM supplier_coverage c WHERE c.supplier_id = {sid}"
    " AND c.starts_at <= :at) AS subscription_started_at"
)
_DERIVE_SET = (
    # suppliers/periods.py current_subscription, set-based over every period of the staged
    # suppliers (``d``: ``covering`` the net MRR of the periods covering :at, NULL when none
    # does, and the picked period's fields). A supplier whose subscription is already so is
    # left alone (a file imported again writes nothing).
    "UPDATE suppliers SET subscription_status = "
    + _STATUS
    + ", "
    + ", ".join(f"{c} = d.{c}" for c in (*_DERIVED[1:], "subscription_ended_at"))
    + " FROM ({derived}) d WHERE suppliers.id = d.supplier_id{target}"
    " AND (suppliers.subscription_status"
    " <> "
    + _STATUS
    + " OR "
    + " OR ".join(f"suppliers.{c} <> d.{c}" for c in _DERIVED[1:])
    + " OR COALESCE(suppliers.subscription_ended_at, :never)"
    " <> COALESCE(d.subscription_ended_at, :never)) RETURNING suppliers.id"
)
_DERIVED_POSTGRESQL = (
    # Driven by the array of ids, each supplier's sum and pick a LATERAL probe of its
    # periods' index: a join to the periods was planned as a hash of every stored period.
    "SELECT i.supplier_id, g.covering, k.plan AS plan_tier, k.currency,"
    " COALESCE(g.covering, k.net) AS mrr_minor, "
    + _STARTED.format(sid="i.supplier_id")
    + ", CASE WHEN g.covering IS NULL THEN k.ends_at END AS subscription_ended_at"
    " FROM unnest(CAST(:ids AS uuid[])) AS i(supplier_id)"
    " CROSS JOIN LATERAL (SELECT SUM(CASE WHEN q.covers = 1 THEN q.net END) AS covering"
    " FROM (" + _BEGUN + "p.supplier_id = i.supplier_id) q) g"
    " CROSS JOIN LATERAL (SELECT q.plan, q.currency, q.net, q.ends_at"
    " FROM (" + _BEGUN + "p.supplier_id = i.supplier_id) q" + _PICK_ORDER + ") k"
)
_DERIVED_SQLITE = (
    # Grouped, the pick a correlated probe (SQLite sorted the periods once per window).
    "SELECT g.supplier_id, g.covering, k.plan AS plan_tier, k.currency,"
    " COALESCE(g.covering, k.mrr_minor - k.discount_minor) AS mrr_minor, "
    + _STARTED.format(sid="g.supplier_id")
    + ", CASE WHEN g.covering IS NULL THEN k.ends_at END AS subscription_ended_at"
    " FROM (SELECT b.supplier_id, SUM(CASE WHEN b.covers = 1 THEN b.net END) AS covering,"
    " (SELECT q.id FROM (" + _BEGUN + "p.supplier_id = b.supplier_id) q" + _PICK_ORDER + ") AS pick"
    f" FROM ({_BEGUN}p.supplier_id IN (SELECT supplier_id FROM {_PERIOD_STAGED})) b"
    " GROUP BY b.supplier_id) g JOIN subscription_periods k ON k.id = g.pick"
)
_DERIVE_FOR = {
    # The target rows by the array too: a hash of every supplier was planned otherwise.
    "postgresql": _instants(
        _DERIVE_SET.format(derived=_DERIVED_POSTGRESQL, target=" AND suppliers.id = ANY(:ids)"),
        "at",
        "never",
    )
    .bindparams(bindparam("ids", type_=ARRAY(Uuid)))
    .columns(id=Uuid),
    "sqlite": _instants(
        _DERIVE_SET.format(derived=_DERIVED_SQLITE, target=""), "at", "never"
    ).columns(id=Uuid),
}


async def derive_staged_subscriptions(
    session: AsyncSession, supplier_ids: Sequence[uuid.UUID], *, at: datetime
) -> set[uuid.UUID]:
    """Write the current subscription at ``at`` of the suppliers of ``supplier_ids`` (those
    with a staged period), as all its stored periods say, where it is not so already (one
    statement; the rule of ``periods.current_subscription``, which
    ``tests/suppliers/test_period_import_equivalence.py`` holds this to); returns the
    suppliers written. Their coverage stretches must be current (refreshed first)."""
    statement = _DERIVE_FOR[session.get_bind().dialect.name]
    params: dict[str, Any] = {"at": at, "never": _NEVER}
    if session.get_bind().dialect.name == "postgresql":
        params["ids"] = sorted(set(supplier_ids))
    return set(await session.scalars(statement, params))


async def set_subscriptions(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Write each supplier's derived subscription (rows with ``id`` and the fields)."""
    if rows:
        await session.execute(update(Supplier), list(rows))


@dataclass(frozen=True)
class SubscriptionRow:
    """What the supplier row says of its subscription (the history's starting point)."""

    status: str
    plan_tier: str
    mrr_minor: int
    currency: str
    started_at: datetime
    ended_at: datetime | None


async def subscription_rows(
    session: AsyncSession, supplier_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, SubscriptionRow]:
    """The subscription fields of the suppliers of ``supplier_ids`` that exist (one query)."""
    if not supplier_ids:
        return {}
    s = Supplier
    rows = await session.execute(
        select(
            s.id,
            s.subscription_status,
            s.plan_tier,
            s.mrr_minor,
            s.currency,
            s.subscription_started_at,
            s.subscription_ended_at,
        ).where(s.id.in_(sorted(set(supplier_ids))))
    )
    return {row[0]: SubscriptionRow(*row[1:]) for row in rows}


async def delete_periods(session: AsyncSession, period_ids: Sequence[int]) -> None:
    if period_ids:
        await session.execute(
            delete(SubscriptionPeriod).where(SubscriptionPeriod.id.in_(period_ids))
        )


async def end_periods(session: AsyncSession, ends: Sequence[tuple[int, datetime]]) -> None:
    """Set the end of each period ``(id, ends_at)`` names (one statement)."""
    if ends:
        await session.execute(
            update(SubscriptionPeriod), [{"id": pid, "ends_at": at} for pid, at in ends]
        )


async def set_cancellation_reasons(
    session: AsyncSession, reasons: Sequence[tuple[uuid.UUID, str | None]]
) -> None:
    if reasons:
        await session.execute(
            update(Supplier), [{"id": sid, "cancellation_reason": r} for sid, r in reasons]
        )
