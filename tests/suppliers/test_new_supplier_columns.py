"""The first import's fast path (``suppliers/columns.py``): plain lines of new suppliers go
in as columns, everything else to the schema, and either way a line is stored, or refused,
exactly as the schema's path would store or refuse it."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from wedsync_success.context import AppContext
from wedsync_success.suppliers import service
from wedsync_success.suppliers.columns import NewSuppliers, split_new
from wedsync_success.suppliers.models import (
    PlanTier,
    Supplier,
    SupplierNameWord,
    SupplierUser,
    VendorType,
)
from wedsync_success.suppliers.service import IMPORT_DEFAULTS, import_batch


def plain(ext: str = "cus_1", **fields: Any) -> dict[str, Any]:
    """A plain line as ``import_batch`` hands it on (its defaults filled in)."""
    return (
        dict(IMPORT_DEFAULTS)
        | {
            "external_id": ext,
            "business_name": "Hollow Oak Florals",
            "vendor_type": "florist",
            "country": "GB",
            "signed_up_at": "2024-01-31T09:15:00.123+01:00",
            "plan_tier": "starter",
            "mrr_minor": "1900",
            "currency": "GBP",
            "users": [{"email": "Ana@Hollow-Oak.EXAMPLE", "name": "Ana"}],
        }
        | fields
    )


def test_a_plain_line_becomes_columns_with_the_schemas_values() -> None:
    created, deferred = split_new([plain(), plain("cus_2", users=None, mrr_minor=0)])
    assert deferred == []
    assert created.index == [0, 1]
    columns = created.suppliers
    assert columns["external_id"] == ["cus_1", "cus_2"]
    assert columns["mrr_minor"] == [1900, 0]
    assert columns["signed_up_at"][0].isoformat() == "2024-01-31T09:15:00.123000+01:00"
    assert columns["subscription_started_at"] == columns["signed_up_at"]
    assert columns["subscription_status"] == ["active", "active"]
    assert columns["time_zone"] == [None, None]
    assert created.users["email"] == ["Ana@hollow-oak.example"]  # the domain lower-cased
    assert created.users["supplier_id"] == [columns["id"][0]]
    assert created.users["role"] == ["owner"]


@pytest.mark.parametrize(
    "odd",
    [
        {"id": str(uuid.uuid4())},
        {"time_zone": "Europe/London"},
        {"subscription_status": "cancelled"},
        {"external_id": "cus 1"},
        {"external_id": "cus/1"},
        {"business_name": " Hollow Oak"},
        {"business_name": "Hollow\nOak"},
        {"business_name": "a" * 201},
        {"vendor_type": "Florist"},
        {"country": "gb"},
        {"currency": None},
        {"mrr_minor": "01900"},
        {"mrr_minor": True},
        {"mrr_minor": 19.0},
        {"mrr_minor": -1},
        {"signed_up_at": "2024-02-30T00:00:00Z"},
        {"signed_up_at": "2024-01-31"},
        {"signed_up_at": "2101-01-01T00:00:00Z"},
        {"acquisition_channel": ""},
        {"users": [{"email": "ana@x.example", "name": "Ana", "phone": "+447911123456"}]},
        {
            "users": [
                {"email": "ana@x.example", "name": "A"},
                {"email": "ANA@x.example", "name": "B"},
            ]
        },
        {"users": [{"email": "ana@localhost", "name": "Ana"}]},
        {"users": "ana@x.example"},
        {"users": [{"email": f"u{i}@x.example", "name": "U"} for i in range(51)]},
    ],
)
def test_anything_else_is_left_to_the_schema(odd: dict[str, Any]) -> None:
    created, deferred = split_new([plain("cus_0"), plain("cus_1", **odd), plain("cus_2")])
    assert deferred == [1]
    assert created.index == [0, 2]
    assert created.suppliers["external_id"] == ["cus_0", "cus_2"]


def _everything_to_the_schema(lines: Any) -> tuple[NewSuppliers, list[int]]:
    return NewSuppliers(), list(range(len(lines)))


def _mostly(usual: st.SearchStrategy[Any], *odd: Any) -> st.SearchStrategy[Any]:
    """``usual`` about seven times in eight, else one of ``odd`` (values or strategies)."""
    others = st.one_of([o if isinstance(o, st.SearchStrategy) else st.just(o) for o in odd])
    return st.integers(0, 7).flatmap(lambda pick: others if pick == 7 else usual)


_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=8)
_NAMES = _mostly(
    st.from_regex(r"[A-Za-z][A-Za-z &'.-]{0,12}[a-z]", fullmatch=True),
    _TEXT,
    st.sampled_from(
        ["Café Lumière", " Oak", "Oak\u00a0", "O\u2028k", "Oak\x1c", "a" * 200, "a" * 201]
    ),
    st.integers(),
)
_USERS = st.lists(
    st.fixed_dictionaries(
        {
            "email": _mostly(
                st.emails(),
                st.sampled_from(["Ana@Studio.EXAMPLE", " a@b.example", "a@b", "ä@b.example"]),
            ),
            "name": _NAMES,
        },
        optional={"phone": st.just("+44 7911 123456"), "role": st.just("admin")},
    ),
    max_size=3,
)
_INSTANTS = st.datetimes(
    min_value=datetime(1995, 1, 1), max_value=datetime(2105, 1, 1), timezones=st.timezones()
).map(datetime.isoformat)
_REQUIRED = {
    "tail": _mostly(st.sampled_from(["a", "b", "c", ""]), "é", "x" * 122, " d"),
    "business_name": _NAMES,
    "vendor_type": _mostly(st.sampled_from(list(VendorType)).map(str), " florist", "Florist", None),
    "country": _mostly(st.sampled_from(["GB", "FR"]), "gb", "GBR", None),
    "signed_up_at": _mostly(
        _INSTANTS, "2024-02-30T00:00:00Z", "2024-01-01", "2024-01-01T00:00:00", 7
    ),
}
_OPTIONAL = {
    "plan_tier": _mostly(st.sampled_from(list(PlanTier)).map(str), "Starter"),
    "mrr_minor": _mostly(
        st.integers(0, 10**6),
        st.integers(-2, 10**19),
        st.from_regex(r"[0-9]{1,4}", fullmatch=True),
        st.sampled_from(["-1", "1e3", "4900.0", " 49", True, 4900.0, None]),
    ),
    "currency": _mostly(st.just("EUR"), "eur", "EURO", None),
    "acquisition_channel": _mostly(st.just("referral"), "", " referral", "a" * 64, "a" * 65, None),
    "users": _mostly(_USERS, None, [], "x", [{"email": "a@b.example"}]),
}
_OTHERS = {"time_zone": "Europe/London", "subscription_status": "cancelled", "id": None}


@st.composite
def _lines(draw: st.DrawFn) -> dict[str, Any]:
    """A line as a file gives it: mostly plain values, now and then a field only the schema
    reads."""
    line: dict[str, Any] = draw(st.fixed_dictionaries(_REQUIRED, optional=_OPTIONAL))
    if draw(st.integers(0, 7)) == 7:
        name = draw(st.sampled_from(sorted(_OTHERS)))
        line[name] = _OTHERS[name]  # an id: each run gives its own (see _run)
    return line


_runs = itertools.count()


async def _stored(ctx: AppContext, prefix: str) -> tuple[list[Any], list[Any], list[Any]]:
    """What the import stored for the lines of ``prefix``, without ids and the prefix."""
    ours = Supplier.external_id.startswith(prefix)
    cut = len(prefix)
    skip = {"id", "external_id", "created_at", "updated_at"}
    async with ctx.db.sessions() as session:
        suppliers = (await session.execute(select(Supplier.__table__).where(ours))).mappings()
        rows = sorted(
            (r["external_id"][cut:], *[v for k, v in r.items() if k not in skip]) for r in suppliers
        )
        joined = select(Supplier.external_id, SupplierUser).join(
            Supplier, Supplier.id == SupplierUser.supplier_id
        )
        users = sorted(
            ((ext or "")[cut:], u.email, u.name, u.role, u.phone)
            for ext, u in await session.execute(joined.where(ours))
        )
        words = select(Supplier.external_id, SupplierNameWord).join(
            SupplierNameWord, SupplierNameWord.supplier_id == Supplier.id
        )
        found = sorted(
            ((ext or "")[cut:], w.word, w.name_key, w.first)
            for ext, w in await session.execute(words.where(ours))
        )
    return rows, users, found


async def _run(ctx: AppContext, prefix: str, lines: list[dict[str, Any]]) -> tuple[Any, ...]:
    # Each run its own external ids, and its own supplier id where a line gives one.
    items = [
        {k: v for k, v in line.items() if k != "tail"}
        | {"external_id": prefix + line["tail"]}
        | ({"id": str(uuid.uuid4())} if "id" in line else {})
        for line in lines
    ]
    async with ctx.db.transaction() as session:
        result = await import_batch(session=session, items=items, now=ctx.clock())
    given = {item["id"] for item in items if "id" in item}

    def key(found: str | None) -> str | None:
        if found in given:
            return "the line's id"
        return found[len(prefix) :] if found else None

    errors = [(e.index, e.field, e.reason.replace(prefix, ""), key(e.key)) for e in result.errors]
    return (result.created, result.updated, errors), await _stored(ctx, prefix)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(_lines(), min_size=1, max_size=5))
async def test_a_line_is_stored_or_refused_as_the_schemas_path_would(
    ctx: AppContext, lines: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = next(_runs)
    fast = await _run(ctx, f"f{run:05d}-", lines)
    with monkeypatch.context() as patched:
        patched.setattr(service, "split_new", _everything_to_the_schema)
        schema = await _run(ctx, f"s{run:05d}-", lines)
    assert fast == schema


async def test_a_batch_of_plain_and_other_lines_keeps_each_lines_place(ctx: AppContext) -> None:
    """Rejections name the line's place in the batch whichever path judged it, and a
    repeated external id is refused as a repeat, not written twice."""
    items = [
        {k: v for k, v in plain("p-1").items() if k not in IMPORT_DEFAULTS},
        plain("p-2", country="gb"),
        plain("p-3", time_zone="Europe/London"),
        plain("p-1"),
        plain("p-4"),
    ]
    async with ctx.db.transaction() as session:
        result = await import_batch(session=session, items=items, now=ctx.clock())
    assert [(e.index, e.field) for e in result.errors] == [(1, "country"), (3, "external_id")]
    assert result.created == 3
    async with ctx.db.sessions() as session:
        stored = dict(
            (await session.execute(select(Supplier.external_id, Supplier.time_zone))).all()
        )
    assert stored == {"p-1": None, "p-3": "Europe/London", "p-4": None}
