"""Supplier use cases: register or update in batches, list with filters, look one up."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access import repository as access_repository
from wedsync_success.churn.models import SupplierChurnCurrent
from wedsync_success.db.locks import lock_suppliers
from wedsync_success.kit.batch import RejectedItem, validate_each
from wedsync_success.kit.errors import NotFound, PayloadTooLarge, ValidationFailed
from wedsync_success.kit.limits import safe_text
from wedsync_success.kit.pagination import decode_cursor, encode_cursor
from wedsync_success.suppliers import repository
from wedsync_success.suppliers.columns import split_new
from wedsync_success.suppliers.models import PlanTier, Supplier
from wedsync_success.suppliers.repository import SORTS, SupplierFilters
from wedsync_success.suppliers.schemas import (
    SUPPLIER_FIELDS,
    ChurnSummary,
    HealthSummary,
    SupplierBatchResult,
    SupplierIn,
    SupplierOut,
    SupplierPage,
)

MAX_SUPPLIER_BATCH = 1000


async def upsert_batch(
    *, session: AsyncSession, items: Sequence[Any], now: datetime
) -> SupplierBatchResult:
    """Create or update suppliers (matched on ``id``); invalid items are reported, not stored."""
    if len(items) > MAX_SUPPLIER_BATCH:
        raise PayloadTooLarge(
            f"A batch holds at most {MAX_SUPPLIER_BATCH} suppliers; this one has {len(items)}.",
            details=[{"field": "suppliers", "reason": f"more than {MAX_SUPPLIER_BATCH} items"}],
        )
    return (await _upsert(session=session, items=items, now=now, stored=None)).result


@dataclass(frozen=True)
class _Upserted:
    result: SupplierBatchResult
    written: list[uuid.UUID]
    """The stored suppliers whose row was written (changed); not those created here."""


async def _upsert(
    *,
    session: AsyncSession,
    items: Sequence[Any],
    now: datetime,
    stored: Mapping[str, repository.StoredSupplier] | None,
    known_users: Mapping[uuid.UUID, list[repository.StoredUser]] | None = None,
    positions: Sequence[int] | None = None,
) -> _Upserted:
    """:func:`upsert_batch` without its size limit. ``stored``: the suppliers the items'
    external ids name, read under their locks (an import has them): they are not read
    again, and a supplier the item would leave exactly as it is, users included, is not
    written. ``known_users``: the stored users of some of them, already read (by supplier),
    not read again. ``positions``: the number each item has in the caller's batch (where
    it is not its place in ``items``), for the reasons that name another item."""
    valid, rejected = validate_each(SupplierIn, items, key_field="id")
    place = (lambda i: i) if positions is None else positions.__getitem__
    valid, collisions = await _without_id_collisions(session, valid, place)
    valid, unknown_owners = await _with_known_owners(session, valid)
    given_ids = [item.id for _, item in valid if item.id is not None]
    externals = [item.external_id for _, item in valid if item.external_id is not None]
    # An external id's own lock makes two writers that create the same new supplier, or
    # give the id to different suppliers, take turns: the second sees the first's row.
    # An import (``stored`` given) took these locks, and more, before reading.
    if stored is None:
        await lock_suppliers(session, chain(given_ids, map(external_id_lock, externals)))
    owners = None if stored is None else {ext: row.id for ext, row in stored.items()}
    valid, clashes, matched = await _match_external_ids(session, valid, place, owners=owners)
    rejected = sorted(rejected + collisions + unknown_owners + clashes, key=lambda i: i.index)
    supplier_rows: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []  # stored suppliers: their id and what changes
    user_rows: list[dict[str, Any]] = []
    listed_users: list[uuid.UUID] = []
    ids: list[uuid.UUID] = []
    resolved = [
        (item, item.id or (matched.get(item.external_id) if item.external_id else None))
        for _, item in valid
    ]
    users_of: dict[uuid.UUID, list[repository.StoredUser]] = dict(known_users or {})
    for user in await repository.stored_users(
        session,
        [
            sid
            for item, sid in resolved
            if sid is not None and item.users is not None and sid not in users_of
        ],
    ):
        users_of.setdefault(user.supplier_id, []).append(user)
    by_email = {
        (user.supplier_id, user.email.lower()): user.id
        for users in users_of.values()
        for user in users
    }
    # What the stored suppliers' names are (and so which suppliers exist): from ``stored``
    # where the import read them, the rest in one query.
    named = {row.id: row.fields["business_name"] for row in (stored or {}).values()}
    named |= await repository.names_of(
        session, [sid for _, sid in resolved if sid is not None and sid not in named]
    )
    for item, known_id in resolved:
        sid = known_id or uuid.uuid4()
        ids.append(sid)
        # Read off the model, not model_dump: a fifth of a second per 20,000 lines.
        row: dict[str, Any] = {"id": sid, "external_id": item.external_id}
        row |= {name: getattr(item, name) for name in SUPPLIER_FIELDS}
        row["subscription_started_at"] = item.subscription_started_at or item.signed_up_at
        before = stored.get(item.external_id) if stored and item.external_id else None
        if before is None or before.id != sid:
            supplier_rows.append(row)
        elif changed := before.changes(row):
            updates.append({"id": sid} | changed)
        if item.users is None:
            continue
        users = [
            {
                "id": u.id or by_email.get((sid, u.email.lower())) or uuid.uuid4(),
                "supplier_id": sid,
                "email": u.email,
                "name": u.name,
                "role": u.role,
                "phone": u.phone,
            }
            for u in item.users
        ]
        if before is not None and _same_users(users, users_of.get(sid, [])):
            continue
        listed_users.append(sid)
        user_rows.extend(users)
    await repository.upsert(
        session,
        supplier_rows,
        user_rows,
        updates=updates,
        users_of=listed_users,
        names=named,
        created_at=now,
    )
    updated = sum(sid in named for sid in ids)
    result = SupplierBatchResult(
        created=len(ids) - updated,
        updated=updated,
        rejected=len(rejected),
        errors=rejected,
        ids=ids,
    )
    written = [row["id"] for row in [*supplier_rows, *updates] if row["id"] in named]
    return _Upserted(result=result, written=written)


def _same_users(users: list[dict[str, Any]], stored: list[repository.StoredUser]) -> bool:
    """Whether ``users`` (rows) are exactly the ``stored`` users, field for field."""
    mine = {user.id: user for user in stored}
    return len(mine) == len(users) and all(
        (known := mine.get(u["id"])) is not None
        and (known.email, known.name, known.role, known.phone)
        == (u["email"], u["name"], u["role"], u["phone"])
        for u in users
    )


IMPORT_DEFAULTS: dict[str, Any] = {"plan_tier": PlanTier.FREE.value, "mrr_minor": 0}
"""What a new supplier gets when its import line leaves these out (its subscription starts
at signup, active; the subscription history import then says more)."""
_SUBSCRIPTION_STATE = ("subscription_status", "subscription_ended_at", "cancellation_reason")
"""Taken together: a line that sets one of them does not keep the others."""
MAX_IMPORT_BATCH = 5000
"""Lines one :func:`import_batch` call takes at most (the import's largest batch)."""


@dataclass(frozen=True)
class ImportedBatch:
    """What :func:`import_batch` did with a batch of lines."""

    created: int
    updated: int
    """Stored suppliers the batch named, changed or not."""
    errors: list[RejectedItem]
    ids: list[uuid.UUID]
    """Every supplier an accepted line names."""
    written: list[uuid.UUID]
    """The stored suppliers whose row was written (changed): the only ones whose MRR,
    currency or anything else a churn prediction was priced at can have changed (a supplier
    created here has no prediction yet)."""

    @property
    def rejected(self) -> int:
        return len(self.errors)


async def import_batch(
    *, session: AsyncSession, items: Sequence[Any], now: datetime
) -> ImportedBatch:
    """Create or update suppliers by ``external_id``, as a file import does: a field a line
    leaves out keeps the supplier's current value (for a new supplier, the defaults of
    :data:`IMPORT_DEFAULTS`), and its users are replaced only when the line lists them.

    The stored suppliers (and the users of those whose lines list users) are read once,
    under the locks of their external ids (and of the ids the lines give), so the fields a
    line keeps are the ones a concurrent import left. A line that changes nothing writes
    nothing; one whose every value is already the stored one, in its stored form
    (:func:`_line_keeps`: a re-import of the same file), is not even validated again."""
    if len(items) > MAX_IMPORT_BATCH:
        raise PayloadTooLarge(
            f"An import batch holds at most {MAX_IMPORT_BATCH} lines; this one has {len(items)}.",
            details=[{"field": "batch_size", "reason": f"more than {MAX_IMPORT_BATCH} lines"}],
        )
    rejected: list[RejectedItem] = []
    given: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(items):
        ext = item.get("external_id") if isinstance(item, dict) else None
        if isinstance(ext, str) and ext.strip():
            given.append((index, {**item, "external_id": ext.strip()}))
        else:
            reason = "is required to import a supplier (the customer's own id)"
            rejected.append(RejectedItem(index=index, field="external_id", reason=reason))
    externals = [i["external_id"] for _, i in given]
    # The same locks _upsert takes (a superset of them), taken first: its own call then
    # takes none that is not held already, so the global lock order holds.
    await lock_suppliers(session, chain(_given_ids(given), map(external_id_lock, externals)))
    stored = await repository.stored_by_external_id(session, externals)
    listing = sorted(
        {known.id for _, i in given if "users" in i and (known := stored.get(i["external_id"]))}
    )
    known_users: dict[uuid.UUID, list[repository.StoredUser]] = {sid: [] for sid in listing}
    for user in await repository.stored_users(session, listing):
        known_users[user.supplier_id].append(user)
    # An external id given twice goes to _upsert both times, which refuses the repeat.
    repeated = {ext for ext, n in Counter(externals).items() if n > 1}
    kept: list[uuid.UUID] = []
    lines: list[tuple[int, dict[str, Any]]] = []
    fresh: list[tuple[int, dict[str, Any]]] = []  # new suppliers, each named once
    for index, item in given:
        known = stored.get(item["external_id"])
        if known is None:
            new = item["external_id"] not in repeated
            (fresh if new else lines).append((index, dict(IMPORT_DEFAULTS) | item))
            continue
        if item["external_id"] not in repeated and _line_keeps(item, known, known_users):
            kept.append(known.id)
            continue
        base = dict(known.fields)
        if any(f in item for f in _SUBSCRIPTION_STATE):
            for name in _SUBSCRIPTION_STATE:
                base.pop(name, None)
        lines.append((index, base | item))
    # The plain lines of new suppliers are written as columns, without models (see
    # ``suppliers/columns.py``); the schema judges the rest, in the batch's order.
    created, deferred = split_new([item for _, item in fresh])
    if deferred:
        lines = sorted([*lines, *(fresh[i] for i in deferred)], key=itemgetter(0))
    if len(created):
        await repository.insert_created(session, created.suppliers, created.users, created_at=now)
    done = await _upsert(
        session=session,
        items=[item for _, item in lines],
        now=now,
        stored=stored,
        known_users=known_users,
        positions=[index for index, _ in lines],
    )
    result = done.result
    rejected.extend(e.model_copy(update={"index": lines[e.index][0]}) for e in result.errors)
    rejected.sort(key=lambda e: e.index)
    return ImportedBatch(
        created=result.created + len(created),
        updated=result.updated + len(kept),
        errors=rejected,
        ids=[*result.ids, *created.suppliers.get("id", []), *kept],
        written=done.written,
    )


_KEPT_FIELDS = frozenset(SUPPLIER_FIELDS)
_USER_KEYS = frozenset({"email", "name", "role", "phone"})


def _line_keeps(
    line: Mapping[str, Any],
    known: repository.StoredSupplier,
    users: Mapping[uuid.UUID, list[repository.StoredUser]],
) -> bool:
    """Whether ``line`` (as read from the file) gives only values ``known`` already has,
    each exactly in its stored form, users included: then validating it could only find
    the stored values again, and importing it changes nothing. Any other line (a value
    written another way, an id, a field it clears, anything unknown) goes through
    validation as usual, so this never decides what is valid, only what is unchanged."""
    fields = known.fields
    if any(name in line for name in _SUBSCRIPTION_STATE) and any(
        name not in line and name in fields for name in _SUBSCRIPTION_STATE
    ):
        return False  # the line clears what it leaves out of the subscription state
    for name, value in line.items():
        if name == "external_id":
            continue  # the stored supplier was found by it
        if name == "users":
            if value is not None and not _same_raw_users(value, users.get(known.id)):
                return False
            continue
        stored = fields.get(name)
        if type(value) is type(stored) and value == stored:
            continue  # the common case, text as stored: no call (stored is never None here)
        if name not in _KEPT_FIELDS or stored is None or not _same_raw(value, stored):
            return False
    return True


def _same_raw(value: Any, stored: Any) -> bool:
    """Whether ``value`` (from a file) is ``stored`` written as the file would write it."""
    if isinstance(stored, str):
        return type(value) is str and value == stored
    if isinstance(stored, int):
        return (type(value) is int and value == stored) or (
            type(value) is str and value == str(stored)
        )
    if isinstance(stored, datetime):
        if type(value) is str:
            iso = stored.isoformat()
            return value == iso or (iso.endswith("+00:00") and value == iso[:-6] + "Z")
        return isinstance(value, datetime) and value.tzinfo is not None and value == stored
    if isinstance(stored, uuid.UUID):
        return type(value) is str and value == str(stored)
    return False


def _same_raw_users(value: Any, stored: list[repository.StoredUser] | None) -> bool:
    """Whether ``value`` (a line's users, as read) lists exactly the ``stored`` users, each
    matched by its email as stored, with every field as stored."""
    if stored is None or type(value) is not list or len(value) != len(stored):
        return False
    by_email = {user.email.lower(): user for user in stored}
    matched: set[uuid.UUID] = set()
    for raw in value:
        if type(raw) is not dict or not raw.keys() <= _USER_KEYS:
            return False
        email = raw.get("email")
        user = by_email.get(email.lower()) if type(email) is str else None
        if user is None or user.id in matched:
            return False
        matched.add(user.id)
        if (email, raw.get("name"), raw.get("role", "owner"), raw.get("phone")) != (
            user.email,
            user.name,
            user.role,
            user.phone,
        ):
            return False
    return True


def _given_ids(given: list[tuple[int, dict[str, Any]]]) -> list[uuid.UUID]:
    """The supplier ids import lines give (those that read as UUIDs; validation refuses
    the others)."""
    ids = []
    for _, item in given:
        raw = item.get("id")
        if isinstance(raw, str):
            try:
                ids.append(uuid.UUID(raw))
            except ValueError:
                continue
        elif isinstance(raw, uuid.UUID):
            ids.append(raw)
    return ids


async def _without_id_collisions(
    session: AsyncSession, valid: list[tuple[int, SupplierIn]], place: Callable[[int], int]
) -> tuple[list[tuple[int, SupplierIn]], list[RejectedItem]]:
    """Refuse, item by item, what the primary keys would refuse for the whole batch: a
    supplier id given twice, a user id given twice, a user id of another supplier. Only
    accepted items claim their ids."""
    owners = await repository.user_owners(
        session, [u.id for _, item in valid for u in item.users or () if u.id is not None]
    )
    first_of: dict[uuid.UUID, int] = {}
    users_seen: set[uuid.UUID] = set()
    kept: list[tuple[int, SupplierIn]] = []
    rejected: list[RejectedItem] = []
    for index, item in valid:
        problem: tuple[str, str] | None = None
        if item.id is not None and item.id in first_of:
            problem = ("id", f"repeats the id of item {place(first_of[item.id])} in this batch")
        mine: set[uuid.UUID] = set()
        for j, user in enumerate(item.users or ()):
            if problem is not None or user.id is None:
                continue
            if user.id in users_seen or user.id in mine:
                problem = (f"users.{j}.id", "repeats the id of another user in this batch")
            elif owners.get(user.id, item.id) != item.id:
                problem = (f"users.{j}.id", "is the id of a user of another supplier")
            mine.add(user.id)
        if problem is None:
            if item.id is not None:
                first_of[item.id] = index
            users_seen |= mine
            kept.append((index, item))
        else:
            key = str(item.id) if item.id is not None else None
            rejected.append(RejectedItem(index=index, key=key, field=problem[0], reason=problem[1]))
    return kept, rejected


_EXTERNAL_ID_LOCKS = uuid.UUID("3f1c2b7e-5d0a-4c58-9e61-0b7f3a2d9c41")


def external_id_lock(external_id: str) -> uuid.UUID:
    """The key :func:`lock_suppliers` serialises writers of ``external_id`` on."""
    return uuid.uuid5(_EXTERNAL_ID_LOCKS, external_id)


async def _match_external_ids(
    session: AsyncSession,
    valid: list[tuple[int, SupplierIn]],
    place: Callable[[int], int],
    *,
    owners: Mapping[str, uuid.UUID] | None = None,
) -> tuple[list[tuple[int, SupplierIn]], list[RejectedItem], dict[str, uuid.UUID | None]]:
    """Find the supplier each external id already names (``None``: a new one), and refuse,
    item by item, what the unique index would refuse for the whole batch: an external id
    given twice, one that already names another supplier than the item's ``id``, and two
    items that end up updating the same supplier. Call with the external ids locked;
    ``owners`` (external id -> supplier), when given, are the suppliers read under them."""
    if owners is None:
        owners = await repository.ids_by_external_id(
            session, [item.external_id for _, item in valid if item.external_id is not None]
        )
    first_ext: dict[str, int] = {}
    first_id: dict[uuid.UUID, int] = {}
    kept: list[tuple[int, SupplierIn]] = []
    rejected: list[RejectedItem] = []
    matched: dict[str, uuid.UUID | None] = {}
    for index, item in valid:
        ext = item.external_id
        sid = item.id if item.id is not None else (owners.get(ext) if ext else None)
        problem: str | None = None
        if ext is not None and ext in first_ext:
            problem = f"repeats the external_id of item {place(first_ext[ext])} in this batch"
        elif ext is not None and item.id is not None and owners.get(ext, item.id) != item.id:
            problem = f"is already the external id of another supplier ({owners[ext]})"
        elif sid is not None and sid in first_id:
            problem = f"names the supplier that item {place(first_id[sid])} in this batch updates"
        if problem is not None:
            key = str(item.id) if item.id is not None else ext
            rejected.append(RejectedItem(index=index, key=key, field="external_id", reason=problem))
            continue
        if ext is not None:
            first_ext[ext] = index
            matched[ext] = sid
        if sid is not None:
            first_id[sid] = index
        kept.append((index, item))
    return kept, rejected, matched


async def _with_known_owners(
    session: AsyncSession, valid: list[tuple[int, SupplierIn]]
) -> tuple[list[tuple[int, SupplierIn]], list[RejectedItem]]:
    """Refuse an item whose ``account_owner_id`` is not a team member."""
    wanted = sorted({item.account_owner_id for _, item in valid if item.account_owner_id})
    known = set(await access_repository.existing_user_ids(session, wanted))
    kept: list[tuple[int, SupplierIn]] = []
    rejected: list[RejectedItem] = []
    for index, item in valid:
        if item.account_owner_id is None or item.account_owner_id in known:
            kept.append((index, item))
            continue
        key = str(item.id) if item.id is not None else None
        reason = "no team member has this id"
        rejected.append(RejectedItem(index=index, key=key, field="account_owner_id", reason=reason))
    return kept, rejected


async def resolve_supplier_ref(*, session: AsyncSession, ref: str) -> uuid.UUID:
    """The supplier a route's ``{supplier_id}`` names: the one with that id or, failing that,
    the one with that external id (an external id may itself look like a UUID). An unknown
    UUID is returned as it is, for the route to answer its own 404."""
    try:
        as_id: uuid.UUID | None = uuid.UUID(ref)
    except ValueError:
        as_id = None
    found = await repository.id_for_ref(session, as_id=as_id, external_id=ref)
    if found is not None:
        return found
    if as_id is not None:
        return as_id
    raise NotFound(
        f"No supplier with id or external id {safe_text(ref, limit=128)!r}",
        details=[{"field": "supplier_id", "reason": "names no supplier"}],
    )


async def supplier_by_ref(*, session: AsyncSession, ref: str) -> Supplier:
    """The supplier a route's ``{supplier_id}`` names, as :func:`resolve_supplier_ref` finds
    it, read whole in the same query (404 when none)."""
    try:
        as_id: uuid.UUID | None = uuid.UUID(ref)
    except ValueError:
        as_id = None
    found = await repository.supplier_for_ref(session, as_id=as_id, external_id=ref)
    if found is None:
        raise no_such_supplier(ref)
    return found


def no_such_supplier(ref: str) -> NotFound:
    """The 404 for a ``{supplier_id}`` (an id or external id) that names no supplier."""
    return NotFound(
        f"No supplier with id or external id {safe_text(ref, limit=128)!r}",
        details=[{"field": "supplier_id", "reason": "names no supplier"}],
    )


async def get_supplier(*, session: AsyncSession, supplier_id: uuid.UUID) -> Supplier:
    supplier = await repository.get(session, supplier_id)
    if supplier is None:
        raise NotFound(f"No supplier with id {supplier_id}")
    return supplier


async def list_suppliers(
    *,
    session: AsyncSession,
    filters: SupplierFilters,
    reporting_currency: str,
    sort: str = "score",
    cursor: str | None = None,
    limit: int = 50,
) -> SupplierPage:
    """A page of suppliers with their health and current churn prediction, riskiest health
    first by default; expected MRR lost is in ``reporting_currency``."""
    low, high = filters.score_min, filters.score_max
    if low is not None and high is not None and low > high:
        raise ValidationFailed(
            f"score_min ({low:g}) is above score_max ({high:g}): no score can be both",
            details=[{"field": "score_min", "reason": "must not be above score_max"}],
        )
    if sort not in SORTS:
        raise ValidationFailed(
            f"Unknown sort {sort!r}",
            details=[{"field": "sort", "reason": f"must be one of {', '.join(SORTS)}"}],
        )
    _check_churn_range(filters)
    column = SORTS[sort][0]
    shape = (column.type.python_type, uuid.UUID)  # what next_cursor below encodes
    after = decode_cursor(cursor, shape=shape) if cursor else None
    rows = await repository.page(session, filters, sort=sort, after=after, limit=limit + 1)
    items = [
        SupplierOut(
            id=s.id,
            external_id=s.external_id,
            business_name=s.business_name,
            vendor_type=s.vendor_type,
            country=s.country,
            plan_tier=s.plan_tier,
            mrr_minor=s.mrr_minor,
            currency=s.currency,
            subscription_status=s.subscription_status,
            signed_up_at=s.signed_up_at,
            account_owner_id=s.account_owner_id,
            health=HealthSummary(
                score=h.score,
                risk_level=h.risk_level,
                as_of=h.as_of,
                change_7d=h.change_7d,
                change_30d=h.change_30d,
            ),
            churn=_churn_summary(c, reporting_currency),
        )
        for s, h, c in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        owner = next(part for part in last if type(part) is column.class_)
        next_cursor = encode_cursor([getattr(owner, column.key), str(last[0].id)])
    return SupplierPage(items=items, next_cursor=next_cursor)


COUNT_CAP = 2_000
"""Past this many matches a list says "more than 2,000" unless asked for every one. Counting
joins every matching row: up to 2,000 the planners keep to index probes that stop at the
cap (under 10 ms at 100,000 suppliers); beyond, PostgreSQL switches to hash joins over the
whole tables, 100-150 ms for an exact count of 100,000."""


async def count_suppliers(
    *, session: AsyncSession, filters: SupplierFilters, sort: str, exact: bool = False
) -> repository.Matching:
    """How many suppliers match ``filters`` (up to :data:`COUNT_CAP` unless ``exact``), and
    how many of them the ``sort`` order lists."""
    cap = None if exact else COUNT_CAP
    return await repository.count_matching(session, filters, sort=sort, cap=cap)


def _check_churn_range(filters: SupplierFilters) -> None:
    low, high = filters.churn_min, filters.churn_max
    if low is not None and high is not None and low > high:
        raise ValidationFailed(
            f"The churn probability range is empty: from {low:g} is above to {high:g}.",
            details=[
                {"field": "churn_probability_min", "reason": "greater than churn_probability_max"}
            ],
        )


def _churn_summary(current: SupplierChurnCurrent | None, currency: str) -> ChurnSummary | None:
    if current is None:
        return None
    return ChurnSummary(
        probability=current.probability,
        risk_band=current.risk_band,
        as_of=current.as_of,
        horizon_days=current.horizon_days,
        model_version=current.model_version,
        predicted_at=current.predicted_at,
        expected_mrr_loss_minor=current.expected_mrr_loss_minor,
        expected_mrr_loss_currency=currency,
    )


async def left_out_of_priority(*, session: AsyncSession, current_only: bool) -> dict[str, int]:
    """How many scored suppliers the priority order leaves out, by currency: those whose
    currency has no configured rate (their expected MRR lost is not converted)."""
    return await repository.unpriced(session, current_only=current_only)
