"""Outbound webhook tests: private targets allowed (the receiver is on 127.0.0.1), helpers
to emit success events through the real outbox and dispatcher, and a worker."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.conftest import FakeClock
from wedsync_success.context import AppContext
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEventType
from wedsync_success.integrations.webhooks import service
from wedsync_success.integrations.webhooks.schemas import EndpointIn
from wedsync_success.integrations.webhooks.worker import WebhookWorker


@pytest.fixture(autouse=True)
def _private_targets_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WEDSYNC_OUTBOUND_ALLOW_PRIVATE", "1")
    return


async def emit(
    ctx: AppContext,
    count: int = 1,
    event_type: SuccessEventType = SuccessEventType.MILESTONE_ACHIEVED,
    payload: dict[str, Any] | None = None,
) -> None:
    """Write ``count`` events to the outbox and dispatch them (the consumer queues deliveries)."""
    async with ctx.db.transaction() as session:
        await enqueue(
            session=session,
            events=[
                NewEvent(
                    event_type=event_type,
                    supplier_id=uuid.uuid4(),
                    occurred_at=ctx.clock(),
                    payload=payload or {"n": i, "name": "Zoë"},
                )
                for i in range(count)
            ],
            now=ctx.clock(),
        )
    await ctx.dispatcher.drain()


async def add_endpoint(ctx: AppContext, url: str, **fields: Any) -> tuple[uuid.UUID, str]:
    async with ctx.db.transaction() as session:
        endpoint, secret = await service.create_endpoint(
            session=session,
            data=EndpointIn(url=url, **fields),
            sealer=ctx.webhooks.sealer,
            now=ctx.clock(),
        )
        return endpoint.id, secret


def make_worker(ctx: AppContext, clock: FakeClock, name: str = "w1", **kw: Any) -> WebhookWorker:
    return WebhookWorker(
        db=ctx.db,
        policy=kw.pop("policy", ctx.webhooks.policy),
        sealer=kw.pop("sealer", ctx.webhooks.sealer),
        clock=clock,
        name=name,
        rng=random.Random(7),
        **kw,
    )


@pytest.fixture
async def worker(ctx: AppContext, clock: FakeClock) -> AsyncIterator[WebhookWorker]:
    made = make_worker(ctx, clock)
    yield made
    await made.aclose()
