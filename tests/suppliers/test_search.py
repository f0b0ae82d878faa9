"""Finding suppliers by name: prefixes of any word, in any order, case and accents folded,
names starting with the query first; the words follow every write of a name."""

from __future__ import annotations

import uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text

from tests.factories import supplier
from tests.helpers import create_supplier
from wedsync_success.context import AppContext
from wedsync_success.suppliers import repository
from wedsync_success.suppliers.models import Supplier, SupplierNameWord
from wedsync_success.suppliers.names import (
    after_prefix,
    fold,
    name_key,
    name_words,
    query_words,
)

URL = "/api/v1/suppliers/search"
NAMES = [
    "Hollow Oak Florals",
    "Oakley Studios",
    "The Oak Barn",
    "Café Lumière",
    "O'Brien's Cakes",
    "Willow & Wren",
]


async def _seed(client: httpx.AsyncClient) -> dict[str, str]:
    return {name: await create_supplier(client, business_name=name) for name in NAMES}


async def _names(client: httpx.AsyncClient, q: str, **params: object) -> list[str]:
    response = await client.get(URL, params={"q": q, **params})
    assert response.status_code == 200, response.text
    return [item["business_name"] for item in response.json()["items"]]


def test_names_fold_case_accents_and_apostrophes() -> None:
    assert fold("CAFÉ Lumière") == "cafe lumiere"
    assert name_key("  Hollow  Oak—Florals ") == "hollow oak florals"
    assert name_words("O'Brien's Cakes") == {"obriens", "o", "brien", "s", "cakes"}
    assert query_words("oak Oakley OA hollow") == ["hollow", "oakley"]
    assert after_prefix("oak") == "oal"


async def test_any_word_prefix_finds_the_name_and_name_prefixes_rank_first(
    client: httpx.AsyncClient,
) -> None:
    ids = await _seed(client)
    assert await _names(client, "oak") == ["Oakley Studios", "Hollow Oak Florals", "The Oak Barn"]
    assert await _names(client, "hollow oa") == ["Hollow Oak Florals"]
    assert await _names(client, "oa HOLLOW") == ["Hollow Oak Florals"]  # any order, any case
    assert await _names(client, "hollow oakley") == []  # every word must match
    assert await _names(client, "cafe lum") == ["Café Lumière"]
    assert await _names(client, "LUMIÈRE") == ["Café Lumière"]
    assert await _names(client, "obrie") == await _names(client, "o'brien") == ["O'Brien's Cakes"]
    assert await _names(client, "brien") == ["O'Brien's Cakes"]
    assert await _names(client, "&") == []  # no word in the query: nothing to match
    assert await _names(client, "o", limit=2) == ["Oakley Studios", "O'Brien's Cakes"]
    item = (await client.get(URL, params={"q": "willow"})).json()["items"][0]
    assert item["id"] == ids["Willow & Wren"]
    assert item["vendor_type"] == "florist"
    assert item["risk_level"] is not None
    assert item["health_score"] is not None


async def test_a_renamed_supplier_is_found_by_its_new_name_only(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    body = supplier(business_name="Hollow Oak Florals")
    await client.post("/api/v1/suppliers", json={"suppliers": [body]})
    renamed = body | {"business_name": "Fernbrook Flowers"}
    await client.post("/api/v1/suppliers", json={"suppliers": [renamed]})
    assert await _names(client, "hollow") == []
    assert await _names(client, "fernb") == ["Fernbrook Flowers"]
    async with ctx.db.sessions() as session:
        words = await session.scalars(
            select(SupplierNameWord.word).where(
                SupplierNameWord.supplier_id == uuid.UUID(body["id"])
            )
        )
        assert sorted(words) == ["fernbrook", "flowers"]


async def test_an_update_that_keeps_the_name_keeps_its_words(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    body = supplier(business_name="Hollow Oak Florals")
    await client.post("/api/v1/suppliers", json={"suppliers": [body]})
    await client.post("/api/v1/suppliers", json={"suppliers": [body | {"mrr_minor": 9900}]})
    assert await _names(client, "hollow oa") == ["Hollow Oak Florals"]
    async with ctx.db.sessions() as session:
        words = await session.scalars(
            select(SupplierNameWord.word).where(
                SupplierNameWord.supplier_id == uuid.UUID(body["id"])
            )
        )
        assert sorted(words) == ["florals", "hollow", "oak"]


async def test_deleted_suppliers_take_their_words_with_them(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    """The words have no foreign key (its check of each inserted word was too slow): a
    trigger deletes them with their supplier, several suppliers in one statement too."""
    ids = await _seed(client)
    gone = [uuid.UUID(ids[name]) for name in ("Hollow Oak Florals", "The Oak Barn", "Café Lumière")]
    async with ctx.db.transaction() as session:
        await session.execute(delete(Supplier).where(Supplier.id == gone[0]))
        await session.execute(delete(Supplier).where(Supplier.id.in_(gone[1:])))
    async with ctx.db.sessions() as session:
        left = set(await session.scalars(select(SupplierNameWord.supplier_id).distinct()))
    assert left == {uuid.UUID(sid) for sid in ids.values()} - set(gone)
    assert await _names(client, "oak") == ["Oakley Studios"]


async def test_bad_queries_are_refused_naming_q(client: httpx.AsyncClient) -> None:
    for params in ({"q": "   "}, {}, {"q": "a" * 101}, {"q": "oak\x00"}, {"q": ""}):
        response = await client.get(URL, params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["error"]["details"][0]["field"] == "q", response.text
    response = await client.get(URL, params={"q": "oak", "limit": 0})
    assert response.status_code == 422


async def test_search_needs_the_read_scope(
    client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    assert (
        await client.get(URL, params={"q": "oak"}, headers={"Authorization": ""})
    ).status_code == 401
    inapp = {"Authorization": f"Bearer {api_keys['inapp']}"}
    assert (await client.get(URL, params={"q": "oak"}, headers=inapp)).status_code == 403
    read = {"Authorization": f"Bearer {api_keys['read']}"}
    assert (await client.get(URL, params={"q": "oak"}, headers=read)).status_code == 200


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    q=st.one_of(
        st.text(max_size=30),
        st.text(alphabet="oak \x00%_'\\\u0301\U0001f600\uffff", max_size=110),
        st.sampled_from(["o" * 64 + "x", "%", "_", "\\", "'; drop table suppliers; --"]),
    )
)
async def test_any_query_is_answered_or_refused_naming_q(client: httpx.AsyncClient, q: str) -> None:
    response = await client.get(URL, params={"q": q})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert response.json()["error"]["details"][0]["field"] == "q"
        assert not q.strip() or "\x00" in q or len(q) > 100
    else:
        assert response.json()["items"] == []  # nobody is registered


async def test_the_name_scan_and_the_word_range_give_the_same_answer(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(client)
    for n in range(6):
        await create_supplier(client, business_name=f"Copper Oak Catering {n}")
        await create_supplier(client, business_name=f"Willow Catering Co {n}")
    queries = ["oak", "o", "c", "catering oak", "cat w", "willow co 3", "zzz", "oak o"]
    by_range = {q: await _names(client, q, limit=5) for q in queries}
    assert by_range["catering oak"][:2] == ["Copper Oak Catering 0", "Copper Oak Catering 1"]
    monkeypatch.setattr(repository, "DRIVE_CAP", 1)  # every word is "common": scan names
    assert {q: await _names(client, q, limit=5) for q in queries} == by_range
    monkeypatch.setattr(repository, "SCAN_CAP", 3)  # scan stops early: fall back to the range
    assert {q: await _names(client, q, limit=5) for q in queries} == by_range


async def test_name_prefixes_are_read_through_the_partial_first_word_index(
    ctx: AppContext,
) -> None:
    """The partial index serves the query only while its ``WHERE first IS …`` is the very
    condition the query renders (SQLite matches the text): a change to either that breaks
    the match falls back to a scan of every word, unnoticed by any answer."""
    query = repository.name_prefix_matches("oak", 10)
    sql = str(query.compile(ctx.db.engine, compile_kwargs={"literal_binds": True}))
    async with ctx.db.transaction() as session:
        if ctx.db.engine.dialect.name == "postgresql":
            await session.execute(text("SET LOCAL enable_seqscan = off"))  # an empty table
            plan = list((await session.execute(text(f"EXPLAIN {sql}"))).scalars())
        else:
            plan = [row[-1] for row in await session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
    described = "\n".join(plan)
    assert "ix_supplier_name_words_first" in described, described
