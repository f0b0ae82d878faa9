"""Marketing tests: a context whose collector URL points at a port on 127.0.0.1 (a real
collector is served there, or nothing, as the test needs), suppliers to identify, and
success events emitted through the real outbox and dispatcher."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import TEST_SECRET_KEY, FakeClock
from tests.factories import supplier
from tests.helpers import free_port
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEventType
from wedsync_success.integrations.marketing.models import MarketingMessage
from wedsync_success.integrations.marketing.worker import MarketingWorker
from wedsync_success.suppliers.service import upsert_batch

WRITE_KEY = "wk_test_0123456789"
NO_CAMPAIGNS = "version: 1\ncampaigns: []\n"

MakeContext = Callable[..., Awaitable[AppContext]]


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
async def make_ctx(
    ctx: AppContext, database_url: str, clock: FakeClock, tmp_path: Path, port: int
) -> AsyncIterator[MakeContext]:
    """Contexts on ``ctx``'s emptied database with marketing settings: the collector at
    ``port`` and the campaigns file given as YAML text (none by default)."""
    made: list[AppContext] = []

    async def make(campaigns: str = NO_CAMPAIGNS, **settings: Any) -> AppContext:
        path = tmp_path / f"campaigns-{len(made)}.yaml"
        path.write_text(campaigns, encoding="utf-8")
        values: dict[str, Any] = {
            "marketing_url": f"http://127.0.0.1:{port}",
            "marketing_write_key": WRITE_KEY,
            "campaigns_config": path,
            "marketing_timeout_seconds": 5,
            "outbound_allow_private": True,  # the collector and receivers are on 127.0.0.1
        }
        values.update(settings)
        context = build_context(
            Settings(database_url=database_url, secret_key=TEST_SECRET_KEY, **values),
            clock=clock,
        )
        made.append(context)
        return context

    yield make
    for context in made:
        await context.close()


async def add_suppliers(ctx: AppContext, count: int, **fields: Any) -> list[uuid.UUID]:
    items = [supplier(**fields) for _ in range(count)]
    async with ctx.db.transaction() as session:
        result = await upsert_batch(session=session, items=items, now=ctx.clock())
    assert not result.rejected, result.errors
    return [uuid.UUID(i["id"]) for i in items]


async def emit(
    ctx: AppContext,
    supplier_ids: list[uuid.UUID],
    event_type: SuccessEventType = SuccessEventType.MILESTONE_ACHIEVED,
    payload: dict[str, Any] | None = None,
) -> None:
    """Write one event per supplier to the outbox and dispatch them (the consumers run)."""
    async with ctx.db.transaction() as session:
        await enqueue(
            session=session,
            events=[
                NewEvent(
                    event_type=event_type,
                    supplier_id=s,
                    occurred_at=ctx.clock(),
                    payload=payload if payload is not None else {"milestone": "first_booking"},
                )
                for s in supplier_ids
            ],
            now=ctx.clock(),
        )
    await ctx.dispatcher.drain()


async def messages(ctx: AppContext) -> list[MarketingMessage]:
    async with ctx.db.sessions() as session:
        return list(await session.scalars(select(MarketingMessage).order_by(MarketingMessage.id)))


def make_worker(ctx: AppContext, clock: FakeClock, name: str = "w1", **kw: Any) -> MarketingWorker:
    return MarketingWorker(
        db=ctx.db,
        policy=kw.pop("policy", ctx.marketing.policy),
        targets=ctx.marketing.campaigns.targets,
        clock=clock,
        name=name,
        rng=random.Random(7),
        **kw,
    )
