"""API keys: every route but health checks needs one, with the right scope."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.statements import counted_statements
from wedsync_success.access.models import ApiKey
from wedsync_success.access.service import revoke_key
from wedsync_success.context import AppContext
from wedsync_success.web.app import create_app


async def test_health_checks_need_no_key(client: httpx.AsyncClient) -> None:
    client.headers.pop("Authorization")
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


@pytest.mark.parametrize("path", ["/api/v1/suppliers", "/api/v1/milestones"])
async def test_missing_key_is_401_with_the_error_shape(
    client: httpx.AsyncClient, path: str
) -> None:
    client.headers.pop("Authorization")
    response = await client.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthorized"


async def test_wrong_key_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/suppliers", headers={"Authorization": "Bearer wss_not-a-real-key"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid or revoked API key"


async def test_read_key_cannot_ingest(client: httpx.AsyncClient, api_keys: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/events", json=[], headers={"Authorization": f"Bearer {api_keys['read']}"}
    )
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "forbidden",
        "message": "This API key lacks the 'ingest' scope",
        "details": [{"field": "scope", "reason": "'ingest' required"}],
    }


async def test_ingest_key_cannot_read(client: httpx.AsyncClient, api_keys: dict[str, str]) -> None:
    client.headers.pop("Authorization")
    response = await client.get("/api/v1/suppliers", headers={"X-API-Key": api_keys["ingest"]})
    assert response.status_code == 403


async def test_admin_key_may_do_everything(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/suppliers")).status_code == 200
    assert (await client.post("/api/v1/events", json=[])).status_code == 200


async def test_revoked_key_stops_working_within_the_cache_ttl(
    client: httpx.AsyncClient, ctx: AppContext, api_keys: dict[str, str], clock: FakeClock
) -> None:
    ttl = ctx.settings.api_key_cache_seconds
    assert ttl > 0
    headers = {"Authorization": f"Bearer {api_keys['read']}"}
    assert (await client.get("/api/v1/suppliers", headers=headers)).status_code == 200
    async with ctx.db.transaction() as session:  # as `apikey revoke` does, in another process
        key = await session.scalar(select(ApiKey).where(ApiKey.name == "read"))
        assert key is not None
        await revoke_key(session=session, key_id=key.id, now=ctx.clock())
    clock.advance(seconds=ttl - 0.5)  # still trusted from the cache: no lookup per request
    assert (await client.get("/api/v1/suppliers", headers=headers)).status_code == 200
    clock.advance(seconds=0.5)  # the entry has expired: the row is read again
    refused = await client.get("/api/v1/suppliers", headers=headers)
    assert refused.status_code == 401
    clock.advance(seconds=ttl * 10)  # a revoked key is never cached
    assert (await client.get("/api/v1/suppliers", headers=headers)).status_code == 401


async def test_a_cached_key_costs_no_lookup(
    client: httpx.AsyncClient, ctx: AppContext, api_keys: dict[str, str]
) -> None:
    headers = {"Authorization": f"Bearer {api_keys['read']}"}
    assert (await client.get("/api/v1/suppliers", headers=headers)).status_code == 200
    with counted_statements(ctx) as statements:
        assert (await client.get("/api/v1/suppliers", headers=headers)).status_code == 200
    assert not [s for s in statements if "api_keys" in s]


async def test_a_ttl_of_zero_reads_the_key_every_request(
    ctx: AppContext, api_keys: dict[str, str]
) -> None:
    settings = ctx.settings.model_copy(update={"api_key_cache_seconds": 0})
    app = create_app(context=replace(ctx, settings=settings), run_dispatcher=False)
    headers = {"Authorization": f"Bearer {api_keys['read']}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    ) as http:
        assert (await http.get("/api/v1/suppliers")).status_code == 200
        async with ctx.db.transaction() as session:
            key = await session.scalar(select(ApiKey).where(ApiKey.name == "read"))
            assert key is not None
            await revoke_key(session=session, key_id=key.id, now=ctx.clock())
        assert (await http.get("/api/v1/suppliers")).status_code == 401


async def test_keys_are_stored_hashed(ctx: AppContext, api_keys: dict[str, str]) -> None:
    async with ctx.db.sessions() as session:
        stored = list(await session.scalars(select(ApiKey.key_hash)))
    assert stored
    assert not set(stored) & set(api_keys.values())


async def test_request_validation_names_the_field(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/suppliers", params={"score_min": "lots"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"] == "score_min"


async def test_unknown_route_uses_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
