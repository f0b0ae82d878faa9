"""POST /events admission: at most ``WEDSYNC_INGEST_CONCURRENCY`` batches are worked on at once
per process, the others wait in arrival order holding no pooled connection, and one that waits
past ``WEDSYNC_INGEST_QUEUE_TIMEOUT_SECONDS`` is answered 503 with Retry-After, writing nothing.

Requests are held in the route body by a gate the test opens; every wait is on a
condition (the test's own hang guard aside), never on the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.requests import Request

from tests.conftest import FakeClock
from tests.factories import event, supplier
from wedsync_success.activity import api as activity_api
from wedsync_success.activity.models import ActivityEvent
from wedsync_success.context import AppContext
from wedsync_success.kit.admission import Admission, AdmissionQueueFull, AdmissionTimeout
from wedsync_success.suppliers.service import upsert_batch
from wedsync_success.web.app import create_app

HANG_GUARD = 60.0
"""Seconds after which a wait that should have ended fails the test instead of hanging it."""


async def until(condition: Callable[[], bool]) -> None:
    """Return once ``condition()`` holds, letting the other tasks run meanwhile."""

    async def poll() -> None:
        # The conditions are on plain attributes nobody signals: look again after each turn.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0)

    await asyncio.wait_for(poll(), HANG_GUARD)


# The gate on its own.


async def test_at_most_limit_hold_a_place_and_the_rest_enter_in_arrival_order() -> None:
    admission = Admission(limit=2, timeout_seconds=HANG_GUARD)
    entered: list[int] = []
    leave = {n: asyncio.Event() for n in range(6)}

    async def holder(n: int) -> None:
        await admission.acquire()
        entered.append(n)
        assert admission.active <= 2
        await leave[n].wait()
        admission.release()

    tasks = []
    for n in range(6):  # each arrives after the one before it is in or queued
        tasks.append(asyncio.create_task(holder(n)))
        await until(lambda n=n: len(entered) + admission.waiting == n + 1)
    assert entered == [0, 1]
    assert admission.waiting == 4
    for n, expected in ((1, [0, 1, 2]), (0, [0, 1, 2, 3]), (3, [0, 1, 2, 3, 4])):
        leave[n].set()
        await until(lambda expected=expected: len(entered) == len(expected))
        assert entered == expected
        assert admission.active == 2
    for n in (2, 4, 5):
        leave[n].set()
    await asyncio.gather(*tasks)
    assert entered == [0, 1, 2, 3, 4, 5]
    assert admission.active == 0
    assert admission.waiting == 0


async def test_a_waiter_past_its_timeout_gives_up_and_its_place_is_not_lost() -> None:
    admission = Admission(limit=1, timeout_seconds=0)
    await admission.acquire()
    with pytest.raises(AdmissionTimeout):
        await admission.acquire()
    assert admission.waiting == 0
    admission.release()
    await admission.acquire()  # free again: the one who gave up took nothing with it
    assert admission.active == 1


async def test_a_place_handed_to_a_waiter_cancelled_meanwhile_goes_to_the_next() -> None:
    admission = Admission(limit=1, timeout_seconds=HANG_GUARD)
    await admission.acquire()
    second = asyncio.create_task(admission.acquire())
    third = asyncio.create_task(admission.acquire())
    await until(lambda: admission.waiting == 2)
    admission.release()  # handed to the second ...
    second.cancel()  # ... which is cancelled before it runs
    await third
    assert second.cancelled()
    assert admission.active == 1
    assert admission.waiting == 0


async def test_a_full_queue_refuses_a_newcomer_at_once_and_keeps_its_order() -> None:
    admission = Admission(limit=1, timeout_seconds=HANG_GUARD, max_waiting=2)
    await admission.acquire()
    queued = [asyncio.create_task(admission.acquire()) for _ in range(2)]
    await until(lambda: admission.waiting == 2)
    with pytest.raises(AdmissionQueueFull):
        await admission.acquire()
    assert admission.waiting == 2  # the refused one took no place in the line
    admission.release()
    await queued[0]
    assert not queued[1].done()
    admission.release()  # the first queued leaves: now the line has room again
    await queued[1]
    third = asyncio.create_task(admission.acquire())
    await until(lambda: admission.waiting == 1)
    admission.release()
    await third
    assert admission.active == 1


def test_the_limit_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Admission(limit=0, timeout_seconds=1)


# POST /events through the app.


class RouteBody:
    """Holds each POST /events in its route body (authenticated, before its body is read and
    its unit of work runs) until the test lets it go; counts who is in there at once."""

    def __init__(self) -> None:
        self.entered: list[str] = []
        self.inside = 0
        self.most_inside = 0
        self.leave: dict[str, asyncio.Event] = {}

    def wrap(self, read_json: Any) -> Any:
        async def held(request: Request, **kwargs: Any) -> Any:
            name = request.headers["X-Test-Batch"]
            leave = self.leave.setdefault(name, asyncio.Event())
            self.entered.append(name)
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
            try:
                await leave.wait()
                return await read_json(request, **kwargs)
            finally:
                self.inside -= 1

        return held


@pytest.fixture
def section(monkeypatch: pytest.MonkeyPatch) -> RouteBody:
    held = RouteBody()
    monkeypatch.setattr(activity_api, "read_json", held.wrap(activity_api.read_json))
    return held


async def _suppliers(ctx: AppContext, clock: FakeClock, count: int) -> list[str]:
    signed_up = (clock.now - timedelta(days=90)).isoformat()
    async with ctx.db.transaction() as session:
        result = await upsert_batch(
            session=session,
            items=[supplier(signed_up_at=signed_up) for _ in range(count)],
            now=clock.now,
        )
    return [str(i) for i in result.ids]


@contextlib.asynccontextmanager
async def _client(
    ctx: AppContext, key: str, *, concurrency: int, queue_timeout: float, queue_limit: int = 200
) -> AsyncIterator[httpx.AsyncClient]:
    settings = ctx.settings.model_copy(
        update={
            "ingest_concurrency": concurrency,
            "ingest_queue_timeout_seconds": queue_timeout,
            "ingest_queue_limit": queue_limit,
        }
    )
    app = create_app(context=dataclasses.replace(ctx, settings=settings), run_dispatcher=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {key}"},
    ) as client:
        yield client


def _batches(ids: Sequence[str], clock: FakeClock, count: int) -> list[list[dict[str, Any]]]:
    return [
        [event(ids[(b + i) % len(ids)], "login", clock.now - timedelta(hours=i)) for i in range(5)]
        for b in range(count)
    ]


async def _stored(ctx: AppContext) -> int:
    async with ctx.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ActivityEvent)) or 0)


async def test_batches_beyond_the_limit_wait_in_arrival_order_holding_no_connection(
    ctx: AppContext, clock: FakeClock, api_keys: dict[str, str], section: RouteBody
) -> None:
    ids = await _suppliers(ctx, clock, 3)
    batches = _batches(ids, clock, 6)
    async with _client(ctx, api_keys["ingest"], concurrency=2, queue_timeout=HANG_GUARD) as client:
        admission: Admission = client._transport.app.state.ingest_admission  # type: ignore[attr-defined]
        requests = []
        for n, batch in enumerate(batches):  # each arrives after the one before is in or queued
            post = client.post(
                "/api/v1/events", json={"events": batch}, headers={"X-Test-Batch": str(n)}
            )
            requests.append(asyncio.create_task(post))
            await until(lambda n=n: admission.active + admission.waiting == n + 1)
        await until(lambda: len(section.entered) == 2)
        assert sorted(section.entered) == ["0", "1"]  # let in together, they race to here
        assert admission.waiting == 4
        # The four waiting requests have not authenticated: only the two inside hold a
        # pooled connection, so the ones let in can never starve for one.
        assert ctx.db.engine.pool.checkedout() == 2
        # Each one that leaves lets exactly the oldest waiter in.
        for step, next_in in enumerate("2345"):
            section.leave[section.entered[step]].set()
            await until(lambda step=step: len(section.entered) == step + 3)
            assert section.entered[-1] == next_in
            assert ctx.db.engine.pool.checkedout() <= 2
        for name in "45":
            section.leave[name].set()
        responses = await asyncio.gather(*requests)
    assert [r.status_code for r in responses] == [200] * 6
    assert section.most_inside == 2
    assert await _stored(ctx) == 6 * 5


async def test_a_batch_queued_past_its_timeout_gets_503_with_retry_after_and_writes_nothing(
    ctx: AppContext, clock: FakeClock, api_keys: dict[str, str], section: RouteBody
) -> None:
    ids = await _suppliers(ctx, clock, 2)
    first, late = _batches(ids, clock, 2)
    async with _client(ctx, api_keys["ingest"], concurrency=1, queue_timeout=0) as client:
        inside = asyncio.create_task(
            client.post("/api/v1/events", json={"events": first}, headers={"X-Test-Batch": "1"})
        )
        await until(lambda: len(section.entered) == 1)
        refused = await client.post(
            "/api/v1/events", json={"events": late}, headers={"X-Test-Batch": "2"}
        )
        section.leave["1"].set()
        accepted = await inside
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["error"]["code"] == "service_unavailable"
    assert accepted.status_code == 200
    assert accepted.json()["accepted"] == 5
    assert section.entered == ["1"]
    assert await _stored(ctx) == 5


async def test_a_full_ingest_queue_gets_503_with_retry_after_while_reads_go_on(
    ctx: AppContext, clock: FakeClock, api_keys: dict[str, str], section: RouteBody
) -> None:
    ids = await _suppliers(ctx, clock, 2)
    first, queued, refused_batch = _batches(ids, clock, 3)
    async with _client(
        ctx, api_keys["ingest"], concurrency=1, queue_timeout=HANG_GUARD, queue_limit=1
    ) as client:
        admission: Admission = client._transport.app.state.ingest_admission  # type: ignore[attr-defined]
        inside = asyncio.create_task(
            client.post("/api/v1/events", json={"events": first}, headers={"X-Test-Batch": "1"})
        )
        await until(lambda: len(section.entered) == 1)
        waiting = asyncio.create_task(
            client.post("/api/v1/events", json={"events": queued}, headers={"X-Test-Batch": "2"})
        )
        await until(lambda: admission.waiting == 1)
        refused = await client.post(
            "/api/v1/events", json={"events": refused_batch}, headers={"X-Test-Batch": "3"}
        )
        # Ingest is saturated (one in, one waiting, the queue full): reads are not behind it.
        read = await client.get(
            "/api/v1/suppliers", headers={"Authorization": f"Bearer {api_keys['read']}"}
        )
        profile = await client.get(
            f"/api/v1/suppliers/{ids[0]}", headers={"Authorization": f"Bearer {api_keys['read']}"}
        )
        assert not inside.done()
        assert not waiting.done()
        section.leave["1"].set()
        section.leave.setdefault("2", asyncio.Event()).set()
        responses = await asyncio.gather(inside, waiting)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["error"] == {
        "code": "service_unavailable",
        "message": "The service is busy ingesting other batches; try again shortly",
        "details": [{"field": "ingest", "reason": "ingest queue full"}],
    }
    assert read.status_code == 200
    assert profile.json()["id"] == ids[0]
    assert [r.status_code for r in responses] == [200, 200]
    assert section.entered == ["1", "2"]  # the refused batch never reached the route
    assert await _stored(ctx) == 2 * 5
