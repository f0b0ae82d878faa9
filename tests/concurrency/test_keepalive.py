"""An unexpected error answers 500 with the JSON error shape and keeps the connection."""

from __future__ import annotations

import re

import httpx

from tests.concurrency.conftest import serving
from wedsync_success.context import AppContext
from wedsync_success.web.app import create_app


async def test_a_500_keeps_the_kept_alive_connection(ctx: AppContext) -> None:
    app = create_app(context=ctx, run_dispatcher=False)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    opened = []

    async def count_connection(event_name: str, info: dict[str, object]) -> None:
        if event_name == "connection.connect_tcp.complete":
            opened.append(info)

    async with (
        serving(app) as base_url,
        httpx.AsyncClient(base_url=base_url, limits=httpx.Limits(max_connections=1)) as http,
    ):
        for _ in range(3):
            failed = await http.get("/boom", extensions={"trace": count_connection})
            assert failed.status_code == 500
            assert failed.json()["error"]["code"] == "internal_error"
            assert failed.headers.get("connection") != "close"
            ok = await http.get("/healthz", extensions={"trace": count_connection})
            assert ok.status_code == 200
    assert len(opened) == 1  # every request went over the one connection


def _count(text: str, series: str) -> float:
    found = re.search(re.escape(series) + r" (\S+)", text)
    return float(found.group(1)) if found else 0.0


async def test_the_timer_still_counts_a_500(ctx: AppContext) -> None:
    """The timer sends the 500 itself, and counts it with its status."""
    app = create_app(context=ctx, run_dispatcher=False)

    @app.get("/boom2")
    async def boom2() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app)
    series = 'wedsync_http_request_seconds_count{method="GET",route="/boom2",status="500"}'
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        before = _count((await http.get("/metrics")).text, series)
        failed = await http.get("/boom2")
        after = _count((await http.get("/metrics")).text, series)
    assert failed.status_code == 500
    assert failed.json()["error"]["message"] == "Something went wrong on our side"
    assert after - before == 1
