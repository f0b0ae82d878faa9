"""Deliveries end to end: real outbox, dispatcher, worker and an HTTP receiver on 127.0.0.1
that verifies every signature with the standardwebhooks library."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from tests.conftest import FakeClock
from tests.helpers import free_port
from tests.integrations.webhooks.conftest import add_endpoint, emit, make_worker
from tests.integrations.webhooks.receiver import receiver
from wedsync_success.context import AppContext
from wedsync_success.events.types import SuccessEventType
from wedsync_success.integrations.webhooks import repository, service
from wedsync_success.integrations.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from wedsync_success.integrations.webhooks.schemas import EndpointPatch
from wedsync_success.integrations.webhooks.worker import WebhookWorker


async def deliveries(ctx: AppContext) -> list[WebhookDelivery]:
    async with ctx.db.sessions() as session:
        return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


async def endpoint(ctx: AppContext, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    async with ctx.db.sessions() as session:
        found = await repository.endpoint(session, endpoint_id)
        assert found is not None
        return found


async def test_an_event_reaches_the_receiver_signed_once_with_the_standard_headers(
    ctx: AppContext, clock: FakeClock, worker: WebhookWorker
) -> None:
    with receiver(clock) as rx:
        endpoint_id, secret = await add_endpoint(ctx, "http://placeholder.invalid/")
        rx.secrets.append(secret)
        async with ctx.db.transaction() as session:
            await service.update_endpoint(
                session=session,
                endpoint_id=endpoint_id,
                patch=EndpointPatch(url=rx.url),
                now=clock(),
            )
        await emit(ctx, 2)
        assert await worker.drain() == 2
    assert rx.rejected == 0
    assert len(rx.requests) == 2
    assert len(rx.effects) == 2
    request = rx.requests[0]
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"].startswith("evt_")
    assert request.headers["webhook-timestamp"] == str(int(clock().timestamp()))
    body = json.loads(request.body)
    assert body["type"] == "supplier.milestone_achieved"
    assert body["data"]["payload"]["name"] == "Zoë"
    assert body["data"]["event_id"].replace("-", "") == request.headers["webhook-id"][4:]
    rows = await deliveries(ctx)
    assert [r.state for r in rows] == ["delivered", "delivered"]
    async with ctx.db.sessions() as session:
        [attempt] = await repository.attempts(session, rows[0].id)
    assert attempt.status_code == 204
    assert attempt.error is None
    assert attempt.attempt_no == 1


async def test_only_the_types_an_endpoint_hears_are_queued(
    ctx: AppContext, clock: FakeClock
) -> None:
    await add_endpoint(ctx, "http://127.0.0.1:9/", event_types=["supplier.payment_failed"])
    await add_endpoint(ctx, "http://127.0.0.1:9/")
    await emit(ctx, 1, SuccessEventType.PAYMENT_FAILED)
    await emit(ctx, 1, SuccessEventType.HEALTH_IMPROVED)
    assert sorted(r.event_type for r in await deliveries(ctx)) == [
        "supplier.health_improved",
        "supplier.payment_failed",
        "supplier.payment_failed",
    ]


async def test_a_receiver_that_is_down_is_retried_with_backoff_until_it_recovers(
    ctx: AppContext, clock: FakeClock, worker: WebhookWorker
) -> None:
    port = free_port()
    endpoint_id, secret = await add_endpoint(ctx, f"http://127.0.0.1:{port}/hooks")
    await emit(ctx)
    assert await worker.drain() == 0  # connection refused
    [row] = await deliveries(ctx)
    assert row.state == "pending"
    assert row.attempts == 1
    assert "unreachable" in (row.last_error or "")
    first_retry = row.due_at
    assert clock() <= first_retry <= clock() + timedelta(seconds=30)  # full jitter, 1st ceiling
    clock.now = first_retry
    assert await worker.drain() == 0
    [row] = await deliveries(ctx)
    assert row.attempts == 2
    assert row.due_at <= clock() + timedelta(seconds=60)
    assert (await endpoint(ctx, endpoint_id)).failing_since is not None
    with receiver(clock, secret, port=port) as rx:
        clock.now = row.due_at
        assert await worker.drain() == 1
    [row] = await deliveries(ctx)
    assert row.state == "delivered"
    assert row.attempts == 3
    assert len(rx.effects) == 1
    assert (await endpoint(ctx, endpoint_id)).failing_since is None


async def test_410_gone_disables_the_endpoint_and_later_events_are_held_then_replayed(
    ctx: AppContext, clock: FakeClock, worker: WebhookWorker
) -> None:
    with receiver(clock) as rx:
        endpoint_id, secret = await add_endpoint(ctx, rx.url)
        rx.secrets.append(secret)
        rx.answers.append((410, {}))
        await emit(ctx)
        assert await worker.drain() == 0
        found = await endpoint(ctx, endpoint_id)
        assert not found.enabled
        assert found.disabled_reason == "the endpoint answered 410 Gone"
        await emit(ctx, 3)  # while disabled: kept, not sent
        assert await worker.drain() == 0
        assert [r.state for r in await deliveries(ctx)] == ["held"] * 4
        assert len(rx.requests) == 1
        async with ctx.db.transaction() as session:
            await service.update_endpoint(
                session=session,
                endpoint_id=endpoint_id,
                patch=EndpointPatch(enabled=True),
                now=clock(),
            )
            assert (
                await service.replay(
                    session=session, endpoint_id=endpoint_id, since=None, now=clock()
                )
                == 4
            )
        assert await worker.drain() == 4
    assert len(rx.effects) == 4
    assert [r.state for r in await deliveries(ctx)] == ["delivered"] * 4


async def test_sustained_failure_disables_the_endpoint_and_holds_what_follows(
    ctx: AppContext, clock: FakeClock
) -> None:
    policy = dataclasses.replace(ctx.webhooks.policy, disable_after=timedelta(hours=1))
    runner = make_worker(ctx, clock, policy=policy)
    try:
        with receiver(clock) as rx:
            endpoint_id, secret = await add_endpoint(ctx, rx.url)
            rx.secrets.append(secret)
            rx.answers.extend([(500, {})] * 50)
            await emit(ctx)
            started = clock()
            while (await endpoint(ctx, endpoint_id)).enabled:
                [row] = await deliveries(ctx)
                assert row.state == "pending"
                clock.now = max(row.due_at, clock.now)
                await runner.drain()
            assert clock() - started >= timedelta(hours=1)
            [row] = await deliveries(ctx)
            assert row.state == "held"
            assert (await endpoint(ctx, endpoint_id)).disabled_reason.startswith(  # type: ignore[union-attr]
                "every attempt failed since"
            )
            await emit(ctx)
            assert [r.state for r in await deliveries(ctx)] == ["held", "held"]
    finally:
        await runner.aclose()


async def test_retry_after_is_a_floor_on_the_wait(
    ctx: AppContext, clock: FakeClock, worker: WebhookWorker
) -> None:
    with receiver(clock) as rx:
        _, secret = await add_endpoint(ctx, rx.url)
        rx.secrets.append(secret)
        rx.answers.append((429, {"Retry-After": "600"}))
        await emit(ctx)
        sent_at = clock()
        await worker.drain()
        [row] = await deliveries(ctx)
        assert row.state == "pending"
        assert row.last_status_code == 429
        assert row.due_at == sent_at + timedelta(seconds=600)
        clock.advance(seconds=599)
        assert (await worker.work_once()).claimed == 0
        clock.advance(seconds=1)
        assert await worker.drain() == 1
    async with ctx.db.sessions() as session:
        first, second = await repository.attempts(session, row.id)
    assert first.status_code == 429
    assert first.error == "answered HTTP 429"
    snippet = first.response_snippet or ""
    assert snippet.startswith("answer from the receiver ?")
    assert snippet.endswith("…")
    assert len(snippet) <= 201
    assert "\x1b" not in snippet
    assert second.status_code == 204


async def test_rotation_sends_both_signatures_during_the_overlap_then_only_the_new(
    ctx: AppContext, clock: FakeClock, worker: WebhookWorker
) -> None:
    with receiver(clock) as rx:
        endpoint_id, old = await add_endpoint(ctx, rx.url)
        async with ctx.db.transaction() as session:
            new, until = await service.rotate_secret(
                session=session,
                endpoint_id=endpoint_id,
                overlap=ctx.webhooks.policy.rotation_overlap,
                sealer=ctx.webhooks.sealer,
                now=clock(),
            )
        assert until == clock() + timedelta(hours=24)
        rx.secrets.extend([old, new])
        await emit(ctx)
        await worker.drain()
        clock.advance(hours=24, seconds=1)
        await emit(ctx)
        await worker.drain()
    during, after = rx.requests
    assert during.verified_by == [old, new]  # a receiver knowing either one verifies
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert after.verified_by == [new]
    assert len(after.headers["webhook-signature"].split(" ")) == 1


async def test_the_effect_is_exactly_once_at_a_deduplicating_receiver(
    ctx: AppContext, clock: FakeClock, worker: WebhookWorker
) -> None:
    """Redelivery by the bus adds no delivery; resend, replay and a worker that died after
    sending re-send under the same webhook-id, which the receiver acts on once."""
    with receiver(clock) as rx:
        endpoint_id, secret = await add_endpoint(ctx, rx.url)
        rx.secrets.append(secret)
        await emit(ctx, 3)
        async with ctx.db.transaction() as session:  # the bus hands the events over again
            rows = await repository.outbox_since(
                session, since=clock() - timedelta(days=1), event_types=None, after_id=0, limit=9
            )
            await service.on_success_events(session, [service._event(r) for r in rows], clock())
        assert len(await deliveries(ctx)) == 3
        await worker.drain()
        first = (await deliveries(ctx))[0]
        async with ctx.db.transaction() as session:
            await service.resend(session=session, delivery_id=first.id, now=clock())
            assert (
                await service.replay(
                    session=session,
                    endpoint_id=endpoint_id,
                    since=clock() - timedelta(hours=1),
                    now=clock(),
                )
                == 2
            )  # the one resent is queued already
        await worker.drain()
        await emit(ctx)
        # a worker claims and sends, then dies before recording: the lease runs out
        async with ctx.db.transaction() as session:
            [outgoing] = await service.claim_outgoing(
                session=session, worker="dead", lease=worker.lease, limit=5, now=clock()
            )
        assert outgoing is not None
        import httpx

        from wedsync_success.integrations.webhooks.delivery import send_attempt

        async with httpx.AsyncClient() as http:
            await send_attempt(
                http, outgoing, allow_private=True, sealer=ctx.webhooks.sealer, clock=clock
            )
        assert await worker.drain() == 0  # still leased to the dead worker
        clock.advance(seconds=worker.lease.total_seconds() + 1)
        assert await worker.drain() == 1
    assert len(rx.requests) == 3 + 1 + 2 + 2
    assert rx.per_id()[outgoing.msg_id] == 2
    assert len(rx.effects) == 4
    assert rx.rejected == 0


async def test_two_workers_never_send_the_same_attempt_twice(
    ctx: AppContext, clock: FakeClock
) -> None:
    first = make_worker(ctx, clock, name="one", batch_size=7)
    second = make_worker(ctx, clock, name="two", batch_size=7)
    try:
        with receiver(clock) as rx:
            _, secret = await add_endpoint(ctx, rx.url)
            rx.secrets.append(secret)
            await emit(ctx, 60)
            sent = await asyncio.gather(first.drain(), second.drain())
        assert sum(sent) == 60
        assert len(rx.requests) == 60
        assert set(rx.per_id().values()) == {1}
        async with ctx.db.sessions() as session:
            attempts = await session.scalar(select(func.count()).select_from(WebhookAttempt))
            workers = set(await session.scalars(select(WebhookAttempt.worker)))
        assert attempts == 60
        assert workers <= {"webhooks:one", "webhooks:two"}
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_private_address_is_refused_at_send_time_unless_allowed(
    ctx: AppContext, clock: FakeClock
) -> None:
    policy = dataclasses.replace(ctx.webhooks.policy, allow_private=False)
    runner = make_worker(ctx, clock, policy=policy)
    try:
        with receiver(clock) as rx:
            _, secret = await add_endpoint(ctx, rx.url)  # stored while allowed
            rx.secrets.append(secret)
            await emit(ctx)
            assert await runner.drain() == 0
        assert rx.requests == []
        [row] = await deliveries(ctx)
        assert row.state == "pending"
        assert row.last_error == "url refused: 127.0.0.1 is a loopback address"
    finally:
        await runner.aclose()
