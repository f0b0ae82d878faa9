"""What ``import_batch`` writes: nothing for a line that changes nothing, exactly what a
line changes otherwise, the stored suppliers read once under their locks, and two imports
of overlapping files at once each storing every line once."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, get_type_hints

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from wedsync_success.context import AppContext
from wedsync_success.suppliers.models import Supplier, SupplierNameWord, SupplierUser
from wedsync_success.suppliers.service import import_batch

_WRITE = re.compile(r"^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)", re.IGNORECASE)


@contextmanager
def writes(ctx: AppContext) -> Iterator[Counter[str]]:
    """Count the statements that write each table while the block runs."""
    seen: Counter[str] = Counter()

    def count(*args: Any) -> None:
        found = _WRITE.match(args[2])
        if found:
            seen[found.group(2)] += 1

    engine = ctx.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def line(ext: str, **fields: Any) -> dict[str, Any]:
    base = {
        "external_id": ext,
        "business_name": f"Studio {ext}",
        "vendor_type": "photographer",
        "country": "GB",
        "signed_up_at": "2025-03-01T00:00:00Z",
        "plan_tier": "starter",
        "mrr_minor": "1900",
        "users": [{"email": f"{ext}@studio.example", "name": "Ana"}],
    }
    return base | fields


async def _import(ctx: AppContext, items: list[dict[str, Any]]) -> Any:
    async with ctx.db.transaction() as session:
        return await import_batch(session=session, items=items, now=ctx.clock())


async def test_a_line_that_changes_nothing_writes_nothing(ctx: AppContext) -> None:
    await _import(ctx, [line("a-1"), line("a-2")])
    with writes(ctx) as seen:
        result = await _import(ctx, [line("a-1"), line("a-2")])
    assert (result.created, result.updated, result.rejected) == (0, 2, 0)
    assert set(result.ids) == set(await _ids(ctx, ["a-1", "a-2"]))
    assert not seen & Counter(["suppliers", "supplier_users", "supplier_name_words"]), seen
    with writes(ctx) as seen:  # a line without users keeps them, and writes nothing either
        await _import(ctx, [{k: v for k, v in line("a-1").items() if k != "users"}])
    assert not seen & Counter(["suppliers", "supplier_users", "supplier_name_words"]), seen


async def test_a_changed_field_or_user_is_written_and_only_that(ctx: AppContext) -> None:
    await _import(ctx, [line("b-1"), line("b-2"), line("b-3")])
    changed_user = line("b-2", users=[{"email": "b-2@studio.example", "name": "Bo"}])
    with writes(ctx) as seen:
        result = await _import(ctx, [line("b-1", mrr_minor="4900"), changed_user, line("b-3")])
    assert (result.created, result.updated) == (0, 3)
    assert seen["suppliers"] == 1, seen
    assert seen["supplier_users"] >= 1, seen
    assert seen["supplier_name_words"] == 0, seen  # no name changed
    async with ctx.db.sessions() as session:
        mrr = dict((await session.execute(select(Supplier.external_id, Supplier.mrr_minor))).all())
        names = sorted((await session.scalars(select(SupplierUser.name))).all())
    assert mrr == {"b-1": 4900, "b-2": 1900, "b-3": 1900}
    assert names == ["Ana", "Ana", "Bo"]


async def test_a_user_dropped_from_the_list_is_removed(ctx: AppContext) -> None:
    two = [{"email": "c@studio.example", "name": "Cy"}, {"email": "d@studio.example", "name": "Di"}]
    await _import(ctx, [line("c-1", users=two)])
    await _import(ctx, [line("c-1", users=two[:1])])
    async with ctx.db.sessions() as session:
        emails = (await session.scalars(select(SupplierUser.email))).all()
    assert emails == ["c@studio.example"]


async def test_a_renamed_supplier_gets_the_new_words_only(ctx: AppContext) -> None:
    await _import(ctx, [line("r-1", business_name="Old Mill Barn")])
    await _import(ctx, [line("r-1", business_name="Willow Lodge")])
    async with ctx.db.sessions() as session:
        words = sorted((await session.scalars(select(SupplierNameWord.word))).all())
    assert words == ["lodge", "willow"]


@pytest.mark.parametrize("half", [10, 40])
async def test_two_imports_of_overlapping_files_store_each_line_once(
    ctx: AppContext, half: int
) -> None:
    """Two writers at once (separate transactions): every external id ends as one supplier,
    created by one import and updated by the other, with no line rejected. With 20 lines a
    batch the writers stay under the per-supplier lock limit, so on PostgreSQL they really
    interleave on their own suppliers' locks; with 80 lines each (160 keys, over MAX_SUPPLIER_LOCKS)
    each takes the population lock instead, which must serialise them just as well."""
    first = [line(f"o-{i}") for i in range(0, 2 * half)]
    second = [line(f"o-{i}", mrr_minor="2900") for i in range(half, 3 * half)]
    results = await asyncio.gather(_import(ctx, first), _import(ctx, second))
    assert [r.rejected for r in results] == [0, 0], [r.errors for r in results]
    assert sum(r.created for r in results) == 3 * half
    assert sum(r.updated for r in results) == half
    async with ctx.db.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Supplier))
        users = await session.scalar(select(func.count()).select_from(SupplierUser))
        mrr = dict((await session.execute(select(Supplier.external_id, Supplier.mrr_minor))).all())
    assert (count, users) == (3 * half, 3 * half)
    assert {mrr[f"o-{i}"] for i in range(0, half)} == {1900}
    assert {mrr[f"o-{i}"] for i in range(2 * half, 3 * half)} == {2900}
    # The overlap holds whichever import went second, whole: never a mix within one line.
    assert {mrr[f"o-{i}"] for i in range(half, 2 * half)} in ({1900}, {2900})


async def _ids(ctx: AppContext, externals: list[str]) -> list[Any]:
    async with ctx.db.sessions() as session:
        return list(
            await session.scalars(select(Supplier.id).where(Supplier.external_id.in_(externals)))
        )


async def test_a_rejected_line_of_a_stored_supplier_is_not_counted_as_updated(
    ctx: AppContext,
) -> None:
    await _import(ctx, [line("k-1"), line("k-2")])
    result = await _import(ctx, [line("k-1", vendor_type="juggler"), line("k-2"), line("k-3")])
    assert (result.created, result.updated, result.rejected) == (1, 1, 1)
    assert [(e.index, e.field) for e in result.errors] == [(0, "vendor_type")]


async def test_an_import_batch_has_a_size_limit_the_command_keeps_to(ctx: AppContext) -> None:
    from wedsync_success.import_cli import import_suppliers
    from wedsync_success.kit.errors import PayloadTooLarge
    from wedsync_success.suppliers.service import MAX_IMPORT_BATCH

    option = get_type_hints(import_suppliers, include_extras=True)["batch_size"].__metadata__[0]
    assert option.max == MAX_IMPORT_BATCH
    with pytest.raises(PayloadTooLarge):
        await _import(ctx, [line(f"z-{i}") for i in range(MAX_IMPORT_BATCH + 1)])


FIELD_VALUES = st.fixed_dictionaries(
    {},
    optional={
        "business_name": st.sampled_from(["Oak Barn", "Café Lumière", "  Oak Barn ", "", "\x00"]),
        "plan_tier": st.sampled_from(["free", "starter", "scale", "gold"]),
        "mrr_minor": st.sampled_from(["0", "1900", "-1", "x", 4900]),
        "currency": st.sampled_from(["GBP", "EUR", "eur"]),
        "subscription_status": st.sampled_from(["active", "past_due", "cancelled"]),
        "subscription_ended_at": st.sampled_from(["2026-01-01T00:00:00Z", "soon"]),
        "time_zone": st.sampled_from(["Europe/London", "Mars/Base"]),
        "users": st.lists(
            st.fixed_dictionaries(
                {
                    "email": st.sampled_from(["a@x.example", "A@x.example", "b@x.example"]),
                    "name": st.sampled_from(["Ana", "Bo"]),
                },
                optional={"phone": st.sampled_from(["+447700900123", "123"])},
            ),
            max_size=2,
        ),
    },
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(st.lists(st.tuples(st.integers(0, 3), FIELD_VALUES), max_size=5), max_size=3)
)
async def test_any_lines_imported_again_change_and_write_nothing(
    ctx: AppContext, batches: list[list[tuple[int, dict[str, Any]]]]
) -> None:
    """Whatever was imported (lines kept, changed, rejected), importing the same batch
    again right after reports the same lines and leaves every table as it was."""
    prefix = f"h-{uuid.uuid4().hex[:8]}"
    for batch in batches:
        items = [line(f"{prefix}-{n}", users=None) | fields for n, fields in batch]
        items = [{k: v for k, v in item.items() if v is not None} for item in items]
        first = await _import(ctx, items)
        state = await _state(ctx, prefix)
        with writes(ctx) as seen:
            again = await _import(ctx, items)
        assert not seen & Counter(["suppliers", "supplier_users", "supplier_name_words"])
        assert await _state(ctx, prefix) == state
        assert again.created == 0
        assert again.updated == first.created + first.updated
        assert [(e.index, e.field) for e in again.errors] == [
            (e.index, e.field) for e in first.errors
        ]


async def _state(ctx: AppContext, prefix: str) -> tuple[list[Any], list[Any], list[Any]]:
    ours = Supplier.external_id.startswith(prefix)
    async with ctx.db.sessions() as session:
        suppliers = (await session.execute(select(Supplier.__table__).where(ours))).all()
        ids = select(Supplier.id).where(ours)
        users = (
            await session.execute(
                select(SupplierUser.__table__).where(SupplierUser.supplier_id.in_(ids))
            )
        ).all()
        words = (
            await session.execute(
                select(SupplierNameWord.__table__).where(SupplierNameWord.supplier_id.in_(ids))
            )
        ).all()
    return sorted(map(tuple, suppliers)), sorted(map(tuple, users)), sorted(map(tuple, words))


async def test_only_the_suppliers_whose_row_changed_are_written(ctx: AppContext) -> None:
    """``written`` (what the command reprices) is the stored suppliers whose row changed:
    not one created here (it has no prediction to reprice), nor one whose line changes
    nothing, nor one whose users alone change."""
    first = await _import(ctx, [line("w-1"), line("w-2")])
    assert first.written == []
    new_user = [{"email": "w-2@studio.example", "name": "Bo"}]
    again = await _import(
        ctx, [line("w-1", mrr_minor="4900"), line("w-2", users=new_user), line("w-3")]
    )
    externals = ["w-1", "w-2", "w-3"]
    by_ext = dict(zip(externals, await _ids_in_order(ctx, externals), strict=True))
    assert again.written == [by_ext["w-1"]]
    assert set(again.ids) == set(by_ext.values())


async def test_a_change_updates_only_its_columns(ctx: AppContext) -> None:
    """A line changing one field sends an UPDATE of that column alone (the indexes of the
    others are not rewritten), and a renamed supplier's words follow its name."""
    await _import(ctx, [line("u-1"), line("u-2")])
    statements: list[str] = []

    def keep(*args: Any) -> None:
        if re.match(r"^\s*UPDATE\s+suppliers\b", args[2], re.IGNORECASE):
            statements.append(args[2])

    engine = ctx.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        await _import(ctx, [{"external_id": "u-1", "mrr_minor": 2500}])
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(statements) == 1, statements
    assigned = statements[0].split("SET", 1)[1].split("FROM")[0].split("WHERE")[0]
    assert "mrr_minor" in assigned
    for other in ("business_name", "plan_tier", "vendor_type", "external_id"):
        assert other not in assigned, statements[0]
    await _import(ctx, [{"external_id": "u-2", "business_name": "Hazel Yard"}])
    async with ctx.db.sessions() as session:
        mrr = dict((await session.execute(select(Supplier.external_id, Supplier.mrr_minor))).all())
        words = sorted((await session.scalars(select(SupplierNameWord.word))).all())
    assert mrr == {"u-1": 2500, "u-2": 1900}
    assert words == sorted(["hazel", "yard", "studio", "u", "1"])


async def test_a_repeated_line_is_refused_even_when_it_changes_nothing(ctx: AppContext) -> None:
    """Unchanged lines skip validation, but an external id given twice is still refused,
    named by its place in the batch (a line without an external id counts)."""
    await _import(ctx, [line("p-1")])
    result = await _import(ctx, [{"business_name": "No id"}, line("p-1"), line("p-1")])
    assert [(e.index, e.field, e.reason) for e in result.errors] == [
        (0, "external_id", "is required to import a supplier (the customer's own id)"),
        (2, "external_id", "repeats the external_id of item 1 in this batch"),
    ]
    assert (result.created, result.updated) == (0, 1)


@pytest.mark.parametrize(
    ("change", "keeps"),
    [
        ({}, True),
        ({"signed_up_at": "2025-03-01T00:00:00+00:00"}, True),  # the same instant, as stored
        ({"mrr_minor": 1900}, True),  # JSON's integer for the CSV's text
        ({"signed_up_at": "2025-03-01T01:00:00+01:00"}, False),  # same instant, other form
        ({"business_name": " Studio k "}, False),  # validation strips it: not the stored text
        ({"mrr_minor": "01900"}, False),
        ({"mrr_minor": True}, False),
        ({"currency": None}, False),  # clears (or is refused): never "unchanged"
        ({"subscription_status": "active"}, True),
        ({"id": "00000000-0000-4000-8000-000000000000"}, False),
        ({"colour": "red"}, False),  # unknown: validation refuses it
        ({"users": [{"email": "k@studio.example", "name": "Ana", "role": "owner"}]}, True),
        ({"users": [{"email": "K@studio.example", "name": "Ana"}]}, False),
        (
            {"users": [{"email": "k@studio.example", "name": "Ana", "phone": "+447700900123"}]},
            False,
        ),
        ({"users": []}, False),
        ({"users": None}, True),  # keeps the users
    ],
)
async def test_a_line_is_unchanged_only_in_the_stored_forms(
    ctx: AppContext, change: dict[str, Any], keeps: bool
) -> None:
    from wedsync_success.suppliers import repository
    from wedsync_success.suppliers.service import _line_keeps

    item = line("k", business_name="Studio k", users=[{"email": "k@studio.example", "name": "Ana"}])
    await _import(ctx, [item])
    async with ctx.db.transaction() as session:
        stored = await repository.stored_by_external_id(session, ["k"])
        users = {stored["k"].id: await repository.stored_users(session, [stored["k"].id])}
    assert _line_keeps(item | change, stored["k"], users) is keeps
    if keeps:  # and the full path agrees: nothing to write
        with writes(ctx) as seen:
            result = await _import(ctx, [item | change])
        assert result.written == []
        assert result.rejected == 0
        assert not seen & Counter(["suppliers", "supplier_users", "supplier_name_words"])


async def test_a_cancellation_line_that_leaves_out_the_end_is_not_unchanged(
    ctx: AppContext,
) -> None:
    """Setting the subscription status clears the end and reason a line leaves out."""
    from wedsync_success.suppliers import repository
    from wedsync_success.suppliers.service import _line_keeps

    ended = {"subscription_status": "cancelled", "subscription_ended_at": "2026-01-01T00:00:00Z"}
    await _import(ctx, [line("x", **ended)])
    async with ctx.db.transaction() as session:
        stored = await repository.stored_by_external_id(session, ["x"])
    assert not _line_keeps(
        {"external_id": "x", "subscription_status": "cancelled"}, stored["x"], {}
    )
    assert _line_keeps({"external_id": "x"} | ended, stored["x"], {})


async def _ids_in_order(ctx: AppContext, externals: list[str]) -> list[Any]:
    async with ctx.db.sessions() as session:
        found = dict(
            (
                await session.execute(
                    select(Supplier.external_id, Supplier.id).where(
                        Supplier.external_id.in_(externals)
                    )
                )
            ).all()
        )
    return [found[e] for e in externals]
