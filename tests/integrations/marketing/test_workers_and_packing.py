"""Two workers at once never send a message twice; a worker that died mid-send leaves its
claim to another after the lease; batches keep to the spec's limits whatever the sizes;
hostile text in a payload still makes a valid message."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import FakeClock
from tests.hostile.strategies import hostile_text
from tests.integrations.marketing.collector import collector, problems
from tests.integrations.marketing.conftest import (
    WRITE_KEY,
    MakeContext,
    add_suppliers,
    emit,
    make_worker,
    messages,
)
from wedsync_success.config import Settings
from wedsync_success.db.unit_of_work import UnitOfWork
from wedsync_success.integrations.marketing import repository, segment, service
from wedsync_success.integrations.marketing.service import MarketingPolicy, SendResult
from wedsync_success.kit.errors import ConfigError


async def test_two_workers_at_once_send_each_message_once(
    make_ctx: MakeContext, clock: FakeClock, port: int
) -> None:
    ctx = await make_ctx()
    ids = await add_suppliers(ctx, 150)
    await emit(ctx, ids)
    first = make_worker(ctx, clock, "w1", claim_limit=40)
    second = make_worker(ctx, clock, "w2", claim_limit=40)
    try:
        with collector(WRITE_KEY, port=port) as c:
            sent = await asyncio.gather(first.drain(), second.drain())
    finally:
        await first.aclose()
        await second.aclose()
    assert sum(sent) == 300
    assert len(c.effects) == 300
    assert set(c.per_message_id().values()) == {1}
    assert {r.state for r in await messages(ctx)} == {"sent"}


async def test_a_dead_workers_claim_is_sent_by_another_after_its_lease(
    make_ctx: MakeContext, clock: FakeClock, port: int
) -> None:
    ctx = await make_ctx()
    await emit(ctx, await add_suppliers(ctx, 3))
    dead = make_worker(ctx, clock, "dead")

    async def claim(session: AsyncSession) -> list[repository.Claimed]:
        return await repository.claim(
            session, now=clock(), lease=dead.lease, worker=dead.name, limit=100
        )

    assert len(await UnitOfWork(ctx.db).run(claim)) == 6  # then it "dies"
    await dead.aclose()
    alive = make_worker(ctx, clock, "alive")
    try:
        with collector(WRITE_KEY, port=port) as c:
            assert await alive.drain() == 0  # still leased
            clock.now = clock() + alive.lease
            clock.advance(seconds=1)
            assert await alive.drain() == 6
    finally:
        await alive.aclose()
    assert len(c.effects) == 6


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(1, segment.MAX_MESSAGE_BYTES), max_size=400))
def test_batches_keep_order_and_the_spec_limits(sizes: list[int]) -> None:
    batches = segment.pack(sizes)
    assert [i for b in batches for i in b] == list(range(len(sizes)))
    for batch in batches:
        assert batch
        assert len(batch) <= segment.MAX_BATCH_MESSAGES
        assert sum(sizes[i] + 1 for i in batch) + 200 <= segment.MAX_BATCH_BYTES
    for left, right in itertools.pairwise(batches):  # each batch was full
        assert sum(sizes[i] + 1 for i in left) + sizes[right[0]] + 201 > segment.MAX_BATCH_BYTES


@settings(max_examples=200, deadline=None)
@given(
    properties=st.dictionaries(hostile_text, st.one_of(hostile_text, st.integers()), max_size=8),
    event_type=st.sampled_from(["supplier.milestone_achieved", "segment.entered", "a.b_c"]),
)
def test_hostile_text_in_a_payload_still_makes_a_valid_message(
    properties: dict[str, object], event_type: str
) -> None:
    message = segment.track(
        message_id=segment.track_message_id(uuid.uuid4()),
        user_id="crm-1",
        event=segment.event_name(event_type),
        properties=properties,
        timestamp=datetime(2026, 6, 15, tzinfo=UTC),
    )
    text = segment.encode(message)
    assert text.isascii()  # lone surrogates and NUL travel as escapes
    body = segment.batch_body([text], sent_at=datetime(2026, 6, 15, tzinfo=UTC))
    [decoded] = json.loads(body)["batch"]
    assert decoded == json.loads(text)
    # as JSON reads it: two lone surrogates that form a pair decode as that one character
    assert decoded["properties"] == json.loads(json.dumps(properties))
    assert problems(decoded) == []


async def test_a_worker_whose_lease_ran_out_does_not_overwrite_the_next_ones_outcome(
    make_ctx: MakeContext, clock: FakeClock, port: int
) -> None:
    ctx = await make_ctx()
    await emit(ctx, await add_suppliers(ctx, 1))
    slow = make_worker(ctx, clock, "slow")

    async def claim(session: AsyncSession) -> list[repository.Claimed]:
        return await repository.claim(
            session, now=clock(), lease=slow.lease, worker=slow.name, limit=100
        )

    claimed = await UnitOfWork(ctx.db).run(claim)
    clock.now = clock() + slow.lease + timedelta(seconds=1)
    fast = make_worker(ctx, clock, "fast")
    try:
        with collector(WRITE_KEY, port=port):
            assert await fast.drain() == 2
    finally:
        await fast.aclose()
        await slow.aclose()
    late = [SendResult(tuple(c.id for c in claimed), 503, "answered HTTP 503", None)]
    counts = await UnitOfWork(ctx.db).run(
        lambda session: service.record_results(
            session=session,
            results=late,
            claimed={c.id: c for c in claimed},
            worker=slow.name,
            policy=ctx.marketing.policy,
            rng=random.Random(1),
            now=clock(),
        )
    )
    assert counts == {"sent": 0, "failed": 0, "retried": 0}
    assert {(r.state, r.attempts) for r in await messages(ctx)} == {("sent", 1)}


def test_an_unknown_event_type_in_the_settings_is_refused_naming_the_setting() -> None:
    settings = Settings(marketing_event_types=["supplier.milestone_achieved", "supplier.oops"])
    with pytest.raises(ConfigError) as refused:
        MarketingPolicy.from_settings(settings)
    [detail] = refused.value.details
    assert detail["field"] == "WEDSYNC_MARKETING_EVENT_TYPES"
    assert "supplier.oops" in detail["reason"]
