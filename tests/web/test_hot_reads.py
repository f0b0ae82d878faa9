"""The hot reads stay cheap: a bounded number of SQL statements per request.

Each statement is a round trip to the database; under load those round trips, not the work,
are most of a read's time. A change that adds a query to these routes fails here first.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from tests.statements import counted_statements
from wedsync_success.context import AppContext

PROFILE_STATEMENTS = 2
"""The profile's one read (the supplier, its health, milestones, users, activity, success
events and surveys: ``suppliers/profile_repository.py``) and the rate-limit counter
(PostgreSQL; SQLite counts in the process); the API key comes from the process's key cache.
It was 12: one or more statements for each domain, the supplier read on its own before."""
LIST_STATEMENTS = 2
"""One page query and the rate-limit counter."""
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")


def _queries(sent: list[str]) -> list[str]:
    """The statements that read or write, each on one line (SQLite's explicit BEGIN and the
    like are left out: asyncpg sends them outside the statement hook)."""
    return [" ".join(s.split()) for s in sent if s.strip().upper() not in TRANSACTION_CONTROL]


@pytest.fixture
async def supplier_id(client: httpx.AsyncClient, clock: FakeClock) -> str:
    sid = await create_supplier(client)
    hours = enumerate(("login", "form_created", "client_added", "referral_converted"), start=1)
    await ingest(client, [event(sid, t, clock.now - timedelta(hours=h)) for h, t in hours])
    assert (await client.get(f"/api/v1/suppliers/{sid}")).status_code == 200  # key now cached
    return sid


async def test_a_profile_read_stays_within_its_statements(
    client: httpx.AsyncClient, ctx: AppContext, supplier_id: str
) -> None:
    with counted_statements(ctx) as sent:
        profile = await client.get(f"/api/v1/suppliers/{supplier_id}")
    statements = _queries(sent)
    assert profile.status_code == 200
    assert profile.json()["health"] is not None
    assert len(statements) <= PROFILE_STATEMENTS, "\n".join(statements)
    assert sum(" FROM suppliers" in s for s in statements) == 1, "the supplier is read once"
    assert not [s for s in statements if "api_keys" in s]


async def test_a_profile_by_external_id_reads_the_supplier_once(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await create_supplier(client, external_id="cus_hot_1")
    with counted_statements(ctx) as sent:
        profile = await client.get("/api/v1/suppliers/cus_hot_1")
    statements = _queries(sent)
    assert profile.json()["id"] == sid
    assert sum(" FROM suppliers" in s for s in statements) == 1


async def test_a_list_page_stays_within_its_statements(
    client: httpx.AsyncClient, ctx: AppContext, supplier_id: str
) -> None:
    with counted_statements(ctx) as sent:
        page = await client.get("/api/v1/suppliers", params={"limit": 25})
    statements = _queries(sent)
    assert [item["id"] for item in page.json()["items"]] == [supplier_id]
    assert len(statements) <= LIST_STATEMENTS, "\n".join(statements)
