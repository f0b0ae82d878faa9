"""``POST /suppliers`` takes at most 1,000 suppliers a batch; a larger one is refused whole."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from tests.factories import supplier
from wedsync_success.context import AppContext
from wedsync_success.suppliers.models import Supplier, SupplierUser

LIMIT = 1000


async def _counts(ctx: AppContext) -> tuple[int, int]:
    async with ctx.db.sessions() as session:
        suppliers = await session.scalar(select(func.count()).select_from(Supplier))
        users = await session.scalar(select(func.count()).select_from(SupplierUser))
    return int(suppliers or 0), int(users or 0)


async def test_a_batch_of_the_limit_is_stored(client: httpx.AsyncClient, ctx: AppContext) -> None:
    batch = [supplier() for _ in range(LIMIT)]
    response = await client.post("/api/v1/suppliers", json={"suppliers": batch})
    assert response.status_code == 200, response.text
    assert (response.json()["created"], response.json()["rejected"]) == (LIMIT, 0)
    assert await _counts(ctx) == (LIMIT, LIMIT)


async def test_one_over_the_limit_is_413_and_writes_nothing(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    batch = [supplier() for _ in range(LIMIT + 1)]  # every item valid on its own
    response = await client.post("/api/v1/suppliers", json={"suppliers": batch})
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["details"][0]["field"] == "suppliers"
    assert "1000" in error["message"]
    assert await _counts(ctx) == (0, 0)
