"""The webhooks API: admin scope only, validation naming the field, the whole life of an
endpoint (create, disable, enable, rotate, replay, log, resend)."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FakeClock
from tests.integrations.webhooks.conftest import emit
from tests.integrations.webhooks.receiver import receiver
from wedsync_success.context import AppContext
from wedsync_success.integrations.webhooks.worker import WebhookWorker

BASE = "/api/v1/webhooks"


async def create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post(f"{BASE}/endpoints", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.mark.parametrize("scope", ["ingest", "read", "act", "inapp"])
async def test_only_admin_keys_manage_webhooks(
    client: httpx.AsyncClient, api_keys: dict[str, str], scope: str
) -> None:
    auth = {"Authorization": f"Bearer {api_keys[scope]}"}
    assert (await client.get(f"{BASE}/endpoints", headers=auth)).status_code == 403
    refused = await client.post(
        f"{BASE}/endpoints", json={"url": "http://127.0.0.1:9/"}, headers=auth
    )
    assert refused.status_code == 403
    anonymous = await client.get(f"{BASE}/endpoints", headers={"Authorization": ""})
    assert anonymous.status_code == 401


async def test_creation_shows_a_standard_secret_once(client: httpx.AsyncClient) -> None:
    created = await create(client, url="http://127.0.0.1:9/hooks", description="CRM")
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) >= 24
    assert created["event_types"] is None
    assert created["enabled"] is True
    listed = (await client.get(f"{BASE}/endpoints")).json()
    assert [e["id"] for e in listed] == [created["id"]]
    assert "secret" not in listed[0]
    assert secret not in str(listed)
    one = (await client.get(f"{BASE}/endpoints/{created['id']}")).json()
    assert "secret" not in one
    assert one["description"] == "CRM"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/"}, "url"),
        ({"url": "http://user:pw@127.0.0.1/"}, "url"),
        ({"url": "http://127.0.0.1/", "event_types": ["supplier.nope"]}, "event_types"),
        ({"url": "http://127.0.0.1/", "enabled": "yes"}, "enabled"),
        ({"url": "http://127.0.0.1/", "colour": "red"}, "colour"),
        ({}, "url"),
    ],
)
async def test_invalid_endpoints_are_refused_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await client.post(f"{BASE}/endpoints", json=body)
    assert response.status_code == 422, response.text
    fields = [d["field"] for d in response.json()["error"]["details"]]
    assert any(f == field or f.endswith(field) for f in fields), fields


async def test_private_urls_are_refused_unless_allowed(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    created = await create(client, url="http://127.0.0.1:9/hooks")  # while allowed
    ctx.webhooks.policy = dataclasses.replace(ctx.webhooks.policy, allow_private=False)
    moved = await client.patch(
        f"{BASE}/endpoints/{created['id']}", json={"url": "http://10.0.0.7/hooks"}
    )
    assert moved.status_code == 422
    assert moved.json()["error"]["details"][0]["field"] == "url"
    for url in ("http://127.0.0.1/hooks", "http://169.254.169.254/latest", "http://[::1]/"):
        response = await client.post(f"{BASE}/endpoints", json={"url": url})
        assert response.status_code == 422
        [detail] = response.json()["error"]["details"]
        assert detail["field"] == "url"
        assert "refused" in detail["reason"]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(
        st.sampled_from(["url", "description", "event_types", "enabled", "all_event_types"]),
        st.one_of(st.none(), st.booleans(), st.text(max_size=30), st.lists(st.text(max_size=5))),
    )
)
async def test_hostile_patches_are_answered_with_the_error_shape(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    endpoint = (await client.get(f"{BASE}/endpoints")).json()
    if not endpoint:
        endpoint = [await create(client, url="http://127.0.0.1:9/")]
    response = await client.patch(f"{BASE}/endpoints/{endpoint[0]['id']}", json=body)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert all("field" in d for d in response.json()["error"]["details"])


async def test_the_life_of_an_endpoint(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, worker: WebhookWorker
) -> None:
    with receiver(clock) as rx:
        created = await create(client, url=rx.url, event_types=["supplier.milestone_achieved"])
        rx.secrets.append(created["secret"])
        endpoint = f"{BASE}/endpoints/{created['id']}"
        await emit(ctx)
        await worker.drain()
        disabled = await client.patch(endpoint, json={"enabled": False})
        assert disabled.json()["disabled_reason"] == "disabled by an admin"
        await emit(ctx, 2)
        refused = await client.post(f"{endpoint}/replay", json={})
        assert refused.status_code == 422
        assert refused.json()["error"]["details"][0]["field"] == "enabled"
        enabled = (await client.patch(endpoint, json={"enabled": True})).json()
        assert enabled["deliveries"] == {"delivered": 1, "held": 2}
        assert (await client.post(f"{endpoint}/replay", json={})).json() == {"queued": 2}
        await worker.drain()
        rotated = (await client.post(f"{endpoint}/rotate-secret")).json()
        rx.secrets[:] = [rotated["secret"]]
        since = (clock.now.replace(microsecond=0)).isoformat()
        replayed = await client.post(f"{endpoint}/replay", json={"since": since})
        assert replayed.json() == {"queued": 3}
        await worker.drain()
        page = (await client.get(f"{endpoint}/deliveries", params={"limit": 2})).json()
        assert len(page["items"]) == 2
        assert page["next_before_id"] == page["items"][1]["id"]
        rest = await client.get(
            f"{endpoint}/deliveries", params={"before_id": page["next_before_id"]}
        )
        assert len(rest.json()["items"]) == 1
        delivery_id = page["items"][0]["id"]
        detail = (await client.get(f"{BASE}/deliveries/{delivery_id}")).json()
        assert detail["state"] == "delivered"
        assert len(detail["attempt_log"]) == 2
        assert detail["body"]["type"] == "supplier.milestone_achieved"
        resent = (await client.post(f"{BASE}/deliveries/{delivery_id}/resend")).json()
        assert resent["state"] == "pending"
        await worker.drain()
    assert rx.rejected == 0
    assert len(rx.effects) == 3
    assert len(rx.requests) == 3 + 3 + 1


async def test_unknown_records_are_404(client: httpx.AsyncClient) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    assert (await client.get(f"{BASE}/endpoints/{missing}")).status_code == 404
    assert (await client.post(f"{BASE}/endpoints/{missing}/rotate-secret")).status_code == 404
    assert (await client.get(f"{BASE}/endpoints/{missing}/deliveries")).status_code == 404
    assert (await client.get(f"{BASE}/deliveries/12345")).status_code == 404
    assert (await client.post(f"{BASE}/deliveries/12345/resend")).status_code == 404
