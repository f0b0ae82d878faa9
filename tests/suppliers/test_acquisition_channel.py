"""A supplier's acquisition channel: optional on the API and the import, kept when a later
line leaves it out, refused by name when it is not text a channel can be."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from tests.factories import supplier
from wedsync_success.context import AppContext
from wedsync_success.suppliers.importer import read_batches
from wedsync_success.suppliers.models import Supplier
from wedsync_success.suppliers.service import import_batch


async def test_the_api_takes_and_shows_the_channel(client: httpx.AsyncClient) -> None:
    body = supplier(acquisition_channel="wedding_fair")
    response = await client.post("/api/v1/suppliers", json={"suppliers": [body]})
    assert response.json()["rejected"] == 0
    profile = (await client.get(f"/api/v1/suppliers/{body['id']}")).json()
    assert profile["acquisition_channel"] == "wedding_fair"
    plain = supplier()
    await client.post("/api/v1/suppliers", json={"suppliers": [plain]})
    assert (await client.get(f"/api/v1/suppliers/{plain['id']}")).json()[
        "acquisition_channel"
    ] is None


async def test_a_channel_that_is_no_text_is_refused_by_name(client: httpx.AsyncClient) -> None:
    for bad in ("", "x" * 65, "\u0000", 7):
        response = await client.post(
            "/api/v1/suppliers", json={"suppliers": [supplier(acquisition_channel=bad)]}
        )
        assert response.status_code == 200
        errors = response.json()["errors"]
        assert [e["field"] for e in errors] == ["acquisition_channel"], (bad, errors)


async def test_the_import_reads_the_column_and_keeps_it(ctx: AppContext, tmp_path: Path) -> None:
    first = tmp_path / "suppliers.csv"
    first.write_text(
        "external_id,business_name,vendor_type,country,signed_up_at,acquisition_channel\n"
        "crm-1,Fern & Fable,florist,GB,2026-01-05T00:00:00+00:00,partner\n"
    )
    again = tmp_path / "again.csv"
    again.write_text(
        "external_id,business_name,vendor_type,country,signed_up_at\n"
        "crm-1,Fern and Fable,florist,GB,2026-01-05T00:00:00+00:00\n"
    )
    for path in (first, again):
        for batch in read_batches(path, batch_size=10):
            async with ctx.db.transaction() as session:
                result = await import_batch(session=session, items=batch.items, now=ctx.clock())
            assert result.rejected == 0, result.errors
    async with ctx.db.sessions() as session:
        row = (
            await session.execute(select(Supplier.business_name, Supplier.acquisition_channel))
        ).one()
    assert tuple(row) == ("Fern and Fable", "partner")
