"""Request latency reaches /metrics, labelled by route template and status."""

from __future__ import annotations

import re
import uuid

import httpx


def _count(text: str, route: str, status: int) -> float:
    """The request count of one (GET, route, status) series, 0 when absent."""
    pattern = (
        r'wedsync_http_request_seconds_count\{method="GET",route="'
        + re.escape(route)
        + rf'",status="{status}"\}} (\S+)'
    )
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


async def test_requests_are_counted_by_route_template_and_status(client: httpx.AsyncClient) -> None:
    before = (await client.get("/metrics")).text
    missing = uuid.uuid4()
    assert (await client.get(f"/api/v1/suppliers/{missing}")).status_code == 404
    assert (await client.get(f"/api/v1/suppliers/{uuid.uuid4()}")).status_code == 404
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/no/such/page")).status_code == 404
    after = (await client.get("/metrics")).text
    route = "/api/v1/suppliers/{supplier_id}"
    assert _count(after, route, 404) - _count(before, route, 404) == 2
    assert str(missing) not in after  # one series per template, not per id
    assert _count(after, "/healthz", 200) - _count(before, "/healthz", 200) == 1
    assert _count(after, "unmatched", 404) - _count(before, "unmatched", 404) == 1
