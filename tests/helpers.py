"""Small steps many tests share, done through the public API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import supplier


async def create_supplier(client: httpx.AsyncClient, **overrides: Any) -> str:
    body = supplier(**overrides)
    response = await client.post("/api/v1/suppliers", json={"suppliers": [body]})
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == 0, response.json()["errors"]
    return str(body["id"])


async def ingest(client: httpx.AsyncClient, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = await client.post("/api/v1/events", json={"events": events})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["rejected"] == 0, body["errors"]
    return body
